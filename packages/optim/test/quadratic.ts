/**
 * Shared test problem: an ill-conditioned quadratic f(W) = Σ c_i·W_ij², the curvature c_i of each row
 * log-uniform over four decades (condition number ~1e4). Curvature is constant along a row, as a
 * weight matrix's scale varies by output unit: block-wise codecs (a row is one 256-block) see
 * homogeneous blocks. (With curvature varying inside a block over 4 decades, v/absmax of the flat
 * elements falls below the 8-bit map's smallest code and AdamW8bit diverges: block-wise
 * quantization relies on blocks of similar scale.)
 */
import { op, Random, type Tensor, tidy, Variable, valueAndGrads } from '@octet/core';
import type { Optimizer } from '../src/index.js';

export const ROWS = 24;
export const COLS = 256; // 6144 elements: above the 8-bit and 4-bit thresholds (4096); a row is one 8-bit block

/** Curvatures log-uniform in [1e-2, 1e2] per row, fixed across seeds. */
export function curvatures(rows = ROWS, cols = COLS): Float32Array {
  const random = new Random(12345);
  const perRow = Array.from({ length: rows }, () => 10 ** (4 * random.next() - 2));
  return Float32Array.from({ length: rows * cols }, (_, i) => perRow[Math.floor(i / cols)]!);
}

export interface Quadratic {
  w: Variable;
  c: Tensor;
  loss(): number;
}

/** W0 ~ N(0, 1) from `seed`; the curvature tensor lives on the backend. */
export function quadratic(seed: number, { rows = ROWS, cols = COLS, name = 'w' } = {}): Quadratic {
  const w = new Variable(name, op.randomNormal([rows, cols], { seed }));
  const c = op.tensor(curvatures(rows, cols), [rows, cols]);
  return {
    w,
    c,
    loss: () => tidy(() => op.sum(op.mul(c, op.square(w))).dataSync()[0]!),
  };
}

/**
 * `steps` optimizer steps on the quadratic; `schedule(step)` sets the lr before each. With `noise`,
 * each gradient gets c_i·noise·ξ (ξ ~ N(0, 1), seeded by `seed` and the step): a stochastic gradient
 * with the same signal-to-noise ratio in every row.
 */
export function minimize(
  problem: Quadratic,
  optimizer: Optimizer,
  steps: number,
  schedule?: (step: number) => number,
  { noise = 0, seed = 0 }: { noise?: number; seed?: number } = {},
): void {
  for (let s = 0; s < steps; s++) {
    if (schedule) optimizer.lr = schedule(s);
    tidy(() => {
      const { grads } = valueAndGrads(() => op.sum(op.mul(problem.c, op.square(problem.w))), [problem.w]);
      const g = grads[0]!;
      const noisy = noise > 0 ? op.add(g, op.mul(problem.c, op.randomNormal(g.shape, { seed: seed * 100003 + s, std: noise }))) : g;
      optimizer.applyGradients([noisy]);
    });
  }
}

/** max over elements of |a − b| / (atol + rtol·|b|): at most 1 when a and b are close (numpy's allclose). */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

/** Copies a state dict's tensors through host f32 arrays, as a checkpoint round trip does. */
export function copyState<T extends { step: number; tensors: Record<string, Tensor>; scalars?: unknown }>(state: T): T {
  const tensors = Object.fromEntries(
    Object.entries(state.tensors).map(([k, t]) => [k, op.tensor(Float32Array.from(t.dataSync()), t.shape)]),
  );
  return { ...state, tensors, scalars: state.scalars === undefined ? undefined : JSON.parse(JSON.stringify(state.scalars)) };
}
