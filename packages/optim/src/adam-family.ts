/**
 * What the Adam-family optimizers (AdamW and its compressed variants) share: their options, the
 * validation of lr, betas, eps and weight decay, and AdamW's own step for the parameters a
 * variant leaves to it.
 */
import { check, op, type Tensor, tidy, type Variable } from '@octet/core';
import { adamDirection, adamMoments, correction, decayed } from './adam-math.js';
import { OptimizerBase } from './optimizer.js';
import { checkLearningRate } from './option-checks.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

/** Options every Adam-family optimizer takes (the defaults are AdamW's). */
export interface AdamFamilyOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Validates lr, betas, eps and weight decay, naming the field and the allowed range. */
export function checkAdamOptions(
  label: string,
  { lr, betas = [0.9, 0.95], eps = 1e-8, weightDecay = 0.1 }: AdamFamilyOptions,
): { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number } {
  checkLearningRate(label, lr);
  check(
    Array.isArray(betas) && betas.length === 2 && betas.every((b) => Number.isFinite(b) && b >= 0 && b < 1),
    `${label} betas`,
    betas,
    'two numbers in [0, 1)',
  );
  check(Number.isFinite(eps) && eps > 0, `${label} eps`, eps, 'a number > 0');
  check(Number.isFinite(weightDecay) && weightDecay >= 0, `${label} weightDecay`, weightDecay, 'a number ≥ 0');
  return { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay };
}

/**
 * Base of the Adam-family optimizers (AdamW and its variants): validated lr, betas, eps and weight
 * decay, and AdamW itself for the parameters a variant leaves to it (f32 moments named
 * `<param>.exp_avg` and `<param>.exp_avg_sq`, updated with AdamW's kernels).
 */
export abstract class AdamFamilyBase extends OptimizerBase {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(label: string, params: readonly ParamGroup[] | readonly Variable[], options: AdamFamilyOptions) {
    const checked = checkAdamOptions(label, options);
    super(label, params, checked.lr);
    this.beta1 = checked.beta1;
    this.beta2 = checked.beta2;
    this.eps = checked.eps;
    this.weightDecay = checked.weightDecay;
  }

  /** Adds zero f32 moments `<p>.exp_avg` and `<p>.exp_avg_sq` of `shape` (default: p's). */
  protected addMoments(p: Variable, shape: readonly number[] = p.shape): void {
    this.addState(`${p.name}.exp_avg`, op.zeros(shape));
    this.addState(`${p.name}.exp_avg_sq`, op.zeros(shape));
  }

  /** AdamW's step of `p` on the moments `addMoments` made: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + eps). */
  protected adamWStep(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    const t = this.stepCount;
    const m = this.getState(`${p.name}.exp_avg`);
    const v = this.getState(`${p.name}.exp_avg_sq`);
    tidy(() => {
      const moments = adamMoments(m, v, g, this.beta1, this.beta2);
      const update = adamDirection(moments.m, moments.v, lr, correction(this.beta1, t), correction(this.beta2, t), this.eps);
      m.assign(moments.m);
      v.assign(moments.v);
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
    });
  }
}
