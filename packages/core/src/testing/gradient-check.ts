/**
 * Numerical gradient checking: compares autograd's gradients with central differences. Used by
 * every backend's tests (and the conformance suite) to prove each op's gradient.
 */
import { tidy, valueAndGrads } from '../engine.js';
import * as op from '../ops/ops.js';
import { Random } from '../random.js';
import type { Tensor } from '../tensor.js';

export interface GradientCheckResult {
  /** Largest |analytic − numeric| / max(1, |numeric|) over every checked element. */
  maxError: number;
  /** Which input and element had it. */
  worst: { input: number; index: number; analytic: number; numeric: number };
}

/**
 * Checks d/dx of `sum(f(xs) · w)` for a fixed random w, so every output element contributes.
 * Inputs are f32 host arrays; `epsilon` is the central-difference step.
 */
export function checkGradients(
  f: (...xs: Tensor[]) => Tensor,
  inputs: { values: Float32Array; shape: number[] }[],
  { epsilon = 1e-2, seed = 1, maxElements = 64 }: { epsilon?: number; seed?: number; maxElements?: number } = {},
): GradientCheckResult {
  const random = new Random(seed);
  let weights: Float32Array | null = null;
  const objective = (xs: Tensor[]): Tensor => {
    const y = f(...xs);
    if (!weights) {
      weights = new Float32Array(y.size);
      for (let i = 0; i < y.size; i++) weights[i] = random.normal();
    }
    return op.sum(op.mul(y, op.tensor(weights, y.shape)));
  };
  const evaluate = (values: Float32Array[]): number =>
    tidy(() => objective(values.map((v, i) => op.tensor(v, inputs[i]!.shape))).dataSync()[0]!);

  const analytic = tidy(() => {
    const xs = inputs.map((x) => op.tensor(x.values, x.shape));
    const { grads } = valueAndGrads(() => objective(xs), xs);
    return grads.map((g) => g.dataSync() as Float32Array);
  });

  const result: GradientCheckResult = { maxError: 0, worst: { input: -1, index: -1, analytic: 0, numeric: 0 } };
  inputs.forEach((input, which) => {
    const stride = Math.max(1, Math.floor(input.values.length / maxElements));
    for (let index = 0; index < input.values.length; index += stride) {
      const values = inputs.map((x) => x.values.slice());
      const original = values[which]![index]!;
      values[which]![index] = original + epsilon;
      const up = evaluate(values);
      values[which]![index] = original - epsilon;
      const down = evaluate(values);
      const numeric = (up - down) / (2 * epsilon);
      const a = analytic[which]![index]!;
      const error = Math.abs(a - numeric) / Math.max(1, Math.abs(numeric));
      if (error > result.maxError) {
        result.maxError = error;
        result.worst = { input: which, index, analytic: a, numeric };
      }
    }
  });
  return result;
}
