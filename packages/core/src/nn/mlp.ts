import { ENGINE, tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { ActivationStorage, Recipe } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { saveActivation } from './activation-storage.js';
import type { GraphEmitter } from './graph.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MlpOptions {
  dim: number;
  hidden: number;
  activation: 'gelu' | 'swiglu';
  recipe: Recipe;
  seed: number;
  initStd: number;
  outInitStd: number;
  /** Static output multipliers (μnit Scaling: fan_in^-½ of each Linear). */
  upAlpha: number;
  downAlpha: number;
}

/** Feed-forward block: GELU (up → gelu → down) or SwiGLU (silu(gate) · up → down). */
export class Mlp extends Module {
  readonly up: Linear;
  readonly gate: Linear | null;
  readonly down: Linear;

  constructor(readonly options: MlpOptions) {
    super();
    const { dim, hidden, recipe, seed, initStd, outInitStd, upAlpha, downAlpha } = options;
    this.up = this.addModule('up', new Linear(dim, hidden, { recipe, initStd, seed: seed + 1, alpha: upAlpha }));
    this.gate =
      options.activation === 'swiglu'
        ? this.addModule('gate', new Linear(dim, hidden, { recipe, initStd, seed: seed + 2, alpha: upAlpha }))
        : null;
    this.down = this.addModule('down', new Linear(hidden, dim, { recipe, initStd: outInitStd, seed: seed + 3, alpha: downAlpha }));
  }

  apply(x: Tensor): Tensor {
    const storage = this.options.recipe.activations;
    return tidy(() => {
      // The projections' outputs go as soon as the activation has read them.
      const hidden = tidy(() =>
        this.gate ? swigluSavingInputs(this.gate.apply(x), this.up.apply(x), storage) : geluSavingInput(this.up.apply(x), storage),
      );
      return this.down.apply(hidden);
    });
  }

  /** `apply` as graph nodes: GELU (tanh form, as octet's gelu) or SwiGLU. */
  emit(g: GraphEmitter, x: string): string {
    const up = this.up.emit(g, x);
    let hidden: string;
    if (this.gate) {
      const gate = this.gate.emit(g, x);
      hidden = g.node('Mul', [g.node('Mul', [gate, g.node('Sigmoid', [gate])]), up]);
    } else {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const cube = g.node('Mul', [g.node('Mul', [up, up]), up]);
      const inner = g.node('Mul', [
        g.node('Add', [up, g.node('Mul', [cube, g.constFloat(0.044715)])]),
        g.constFloat(Math.sqrt(2 / Math.PI)),
      ]);
      hidden = g.node('Mul', [g.node('Mul', [up, g.constFloat(0.5)]), g.node('Add', [g.constFloat(1), g.node('Tanh', [inner])])]);
    }
    return this.down.emit(g, hidden);
  }
}

/** GELU (tanh approximation) as one autograd op keeping only its input, as `storage` says. */
export function geluSavingInput(x: Tensor, storage: ActivationStorage): Tensor {
  return ENGINE.customOp([x], (save, recording) => {
    const load = saveActivation(x, storage, save, recording);
    return { output: op.gelu(x), backward: (dy) => [op.geluGrad(dy, load())] };
  });
}

/** silu(gate) · up as one autograd op keeping only gate and up, as `storage` says. */
export function swigluSavingInputs(gate: Tensor, up: Tensor, storage: ActivationStorage): Tensor {
  return ENGINE.customOp([gate, up], (save, recording) => {
    const loadGate = saveActivation(gate, storage, save, recording);
    const loadUp = saveActivation(up, storage, save, recording);
    const backward = (dy: Tensor): Tensor[] => {
      const g = loadGate();
      const s = op.sigmoid(g);
      const silu = op.mul(g, s);
      // d silu/dg = s · (1 + g · (1 − s)).
      const dSilu = op.mul(s, op.addScalar(op.mul(g, op.affine(s, -1, 1)), 1));
      return [op.mul(op.mul(dy, loadUp()), dSilu), op.mul(dy, silu)];
    };
    return { output: op.mul(op.silu(gate), up), backward };
  });
}
