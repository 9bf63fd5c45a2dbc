/**
 * AdamW with f32 moments (8 bytes of state per parameter): the baseline every compressed optimizer
 * is measured against. The update runs as kernels on the parameters' backend.
 */
import { check, op, type Tensor, tidy, Variable } from '@octet/core';
import { adamDirection, adamMoments, decayed } from './adam-math.js';
import type { Optimizer, OptimizerState } from './optimizer.js';
import { type ParamGroup, type ResolvedGroup, resolveGroups } from './param-groups.js';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW implements Optimizer {
  readonly name: string = 'adamw';
  readonly groups: ResolvedGroup[];
  private readonly m = new Map<Variable, Variable>();
  private readonly v = new Map<Variable, Variable>();
  private stepCount = 0;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(
    params: readonly ParamGroup[] | readonly Variable[],
    { lr, betas = [0.9, 0.95], eps = 1e-8, weightDecay = 0.1 }: AdamWOptions,
  ) {
    check(Number.isFinite(lr) && lr > 0, 'AdamW lr', lr, 'a number > 0');
    check(
      betas.every((b) => Number.isFinite(b) && b >= 0 && b < 1),
      'AdamW betas',
      betas,
      'two numbers in [0, 1)',
    );
    check(Number.isFinite(eps) && eps > 0, 'AdamW eps', eps, 'a number > 0');
    check(Number.isFinite(weightDecay) && weightDecay >= 0, 'AdamW weightDecay', weightDecay, 'a number ≥ 0');
    this.groups = resolveGroups(params);
    this.lr = lr;
    [this.beta1, this.beta2] = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
    for (const p of this.params()) {
      this.m.set(p, stateVariable(`${p.name}.exp_avg`, p.shape));
      this.v.set(p, stateVariable(`${p.name}.exp_avg_sq`, p.shape));
    }
  }

  params(): Variable[] {
    return this.groups.flatMap((g) => g.params);
  }

  get step(): number {
    return this.stepCount;
  }

  /** One update; `grads` are in the order of `params()`. */
  applyGradients(grads: readonly Tensor[]): void {
    const params = this.params();
    check(grads.length === params.length, 'AdamW gradients', `${grads.length} tensors`, `${params.length} (one per parameter)`);
    this.stepCount++;
    const t = this.stepCount;
    const correction1 = 1 - this.beta1 ** t;
    const correction2 = 1 - this.beta2 ** t;
    let i = 0;
    for (const group of this.groups) {
      const lr = this.lr * group.lrScale;
      for (const p of group.params) {
        const g = grads[i++]!;
        const m = this.m.get(p)!;
        const v = this.v.get(p)!;
        tidy(() => {
          const moments = adamMoments(m, v, g, this.beta1, this.beta2);
          // p ← p·(1 − lr·wd) − lr · m̂ / (√v̂ + eps)
          const update = adamDirection(moments.m, moments.v, lr, correction1, correction2, this.eps);
          m.assign(moments.m);
          v.assign(moments.v);
          p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
        });
      }
    }
  }

  /** Bytes of optimizer state (m and v in f32). */
  stateBytes(): number {
    return [...this.m.values(), ...this.v.values()].reduce((n, t) => n + t.size * 4, 0);
  }

  /** Moments by parameter name plus the step count, for checkpoints. */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    for (const p of this.params()) {
      tensors[`${p.name}.exp_avg`] = this.m.get(p)!;
      tensors[`${p.name}.exp_avg_sq`] = this.v.get(p)!;
    }
    return { step: this.stepCount, tensors };
  }

  loadStateDict(state: OptimizerState): void {
    check(Number.isInteger(state.step) && state.step >= 0, 'AdamW state step', state.step, 'an integer ≥ 0');
    for (const p of this.params()) {
      for (const [suffix, slot] of [
        ['exp_avg', this.m],
        ['exp_avg_sq', this.v],
      ] as const) {
        const name = `${p.name}.${suffix}`;
        const saved = state.tensors[name];
        check(saved !== undefined, 'AdamW state', `no tensor ${name}`, 'one exp_avg and one exp_avg_sq per parameter');
        slot.get(p)!.assign(saved);
      }
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** A zero f32 state Variable; the temporary zeros are disposed so the first `assign` frees their storage. */
function stateVariable(name: string, shape: readonly number[]): Variable {
  const zeros = op.zeros(shape);
  const variable = new Variable(name, zeros, false);
  zeros.dispose();
  return variable;
}
