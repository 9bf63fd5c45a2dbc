/**
 * The Adam update as kernels, shared by AdamW and every variant that keeps (or reconstructs) f32
 * moments, so that a variant in its degenerate setting runs exactly AdamW's arithmetic.
 */
import { op, type Tensor } from '@octet/core';

/** m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g². */
export function adamMoments(m: Tensor, v: Tensor, g: Tensor, beta1: number, beta2: number): { m: Tensor; v: Tensor } {
  return {
    m: op.add(op.mulScalar(m, beta1), op.mulScalar(g, 1 - beta1)),
    v: op.add(op.mulScalar(v, beta2), op.mulScalar(op.square(g), 1 - beta2)),
  };
}

/** lr · m̂ / (√v̂ + eps), with m̂ = m / correction1 and v̂ = v / correction2 (v may broadcast against m). */
export function adamDirection(m: Tensor, v: Tensor, lr: number, correction1: number, correction2: number, eps: number): Tensor {
  const denominator = op.addScalar(op.sqrt(op.mulScalar(v, 1 / correction2)), eps);
  return op.div(op.mulScalar(m, lr / correction1), denominator);
}

/** p·(1 − lr·wd) when decay applies, else p (decoupled weight decay). */
export function decayed(p: Tensor, lr: number, weightDecay: number, groupDecays: boolean): Tensor {
  return groupDecays && weightDecay > 0 ? op.mulScalar(p, 1 - lr * weightDecay) : p;
}

/** 1 − β^t, the bias correction after t steps. */
export const correction = (beta: number, t: number): number => 1 - beta ** t;
