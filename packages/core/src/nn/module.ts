/** Minimal module system: a module owns named Variables and child modules. */

import type { Tensor } from '../tensor.js';
import { Variable } from '../tensor.js';

export abstract class Module {
  private readonly ownVariables = new Map<string, Variable>();
  private readonly children = new Map<string, Module>();

  protected addVariable(name: string, initial: Tensor, trainable = true): Variable {
    const variable = new Variable(name, initial, trainable);
    initial.dispose();
    this.ownVariables.set(name, variable);
    return variable;
  }

  protected addModule<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  /** Every variable under this module, by dotted path (e.g. `blocks.0.attn.q.weight`). */
  namedVariables(prefix = ''): [string, Variable][] {
    const out: [string, Variable][] = [];
    for (const [name, v] of this.ownVariables) out.push([prefix + name, v]);
    for (const [name, child] of this.children) out.push(...child.namedVariables(`${prefix}${name}.`));
    return out;
  }

  /** This module and every module under it, by dotted path (this one as `prefix` without its dot). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(`${prefix}${name}.`));
    return out;
  }

  /** Trainable variables by dotted path. */
  namedParameters(prefix = ''): [string, Variable][] {
    return this.namedVariables(prefix).filter(([, v]) => v.trainable);
  }

  parameters(): Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Names every variable by its dotted path under this module (call once on the top-level model). */
  nameVariables(prefix = ''): void {
    for (const [path, variable] of this.namedVariables(prefix)) variable.name = path;
  }

  dispose(): void {
    for (const [, v] of this.namedVariables()) v.dispose();
  }
}
