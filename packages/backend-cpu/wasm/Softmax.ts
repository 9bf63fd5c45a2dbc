// AssemblyScript: softmax over the last axis, as kernels/Softmax.ts computes it (f64 exponentials
// stored as f32, their f64 sum taken in order, each stored value times 1 / sum), with e^t from
// wasm/Exp.ts: the same f32 values but for the rare one within an ulp of a rounding boundary.

import { expLanes, loadPair, storePair } from './Exp';

/** The largest of x[0 … n) (NaN if any is NaN, −∞ when n is 0), four at a time. */
@inline
function rowMax(x: usize, n: i32): f32 {
  let lanes = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) lanes = f32x4.max(lanes, v128.load(x + (<usize>j << 2)));
  let largest = max(max(f32x4.extract_lane(lanes, 0), f32x4.extract_lane(lanes, 1)), max(f32x4.extract_lane(lanes, 2), f32x4.extract_lane(lanes, 3)));
  for (; j < n; j++) largest = max(largest, load<f32>(x + (<usize>j << 2)));
  return largest;
}

/**
 * Σ e^(x[j] − shift) over j < n in f64, added in order as the reference adds them; with `keep`,
 * each e^(x[j] − shift) also goes to dst[j] as f32.
 */
@inline
function sumExp(src: usize, n: i32, shift: f64, keep: bool, dst: usize): f64 {
  const shifts = f64x2.splat(shift);
  let total: f64 = 0;
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    // Four pairs per turn: each exponential is a long chain of dependent steps, so they must overlap.
    const a = expLanes(f64x2.sub(loadPair(src, j), shifts));
    const b = expLanes(f64x2.sub(loadPair(src, j + 2), shifts));
    const c = expLanes(f64x2.sub(loadPair(src, j + 4), shifts));
    const d = expLanes(f64x2.sub(loadPair(src, j + 6), shifts));
    if (keep) {
      storePair(dst, j, a);
      storePair(dst, j + 2, b);
      storePair(dst, j + 4, c);
      storePair(dst, j + 6, d);
    }
    total += f64x2.extract_lane(a, 0);
    total += f64x2.extract_lane(a, 1);
    total += f64x2.extract_lane(b, 0);
    total += f64x2.extract_lane(b, 1);
    total += f64x2.extract_lane(c, 0);
    total += f64x2.extract_lane(c, 1);
    total += f64x2.extract_lane(d, 0);
    total += f64x2.extract_lane(d, 1);
  }
  for (; j + 2 <= n; j += 2) {
    const a = expLanes(f64x2.sub(loadPair(src, j), shifts));
    if (keep) storePair(dst, j, a);
    total += f64x2.extract_lane(a, 0);
    total += f64x2.extract_lane(a, 1);
  }
  if (j < n) {
    const e = f64x2.extract_lane(expLanes(f64x2.splat(<f64>load<f32>(src + (<usize>j << 2)) - shift)), 0);
    if (keep) store<f32>(dst + (<usize>j << 2), <f32>e);
    total += e;
  }
  return total;
}

/**
 * out = softmax of each row of x (rows × width f32). `causal`: row r is query r mod `queries` of
 * a block whose last query sees every key, so it sees keys 0 … (r mod queries) + width − queries;
 * the rest of its row is 0.
 */
export function softmax(x: usize, out: usize, rows: i32, width: i32, queries: i32, causal: bool): void {
  for (let r = 0; r < rows; r++) {
    const offset = (<usize>r * <usize>width) << 2;
    const src = x + offset;
    const dst = out + offset;
    const visible = causal ? max(0, min(width, (r % queries) + (width - queries) + 1)) : width;
    const total = sumExp(src, visible, <f64>rowMax(src, visible), true, dst);
    const inverse = f64x2.splat(1 / total);
    let j = 0;
    for (; j + 2 <= visible; j += 2) storePair(dst, j, f64x2.mul(loadPair(dst, j), inverse));
    if (j < visible) store<f32>(dst + (<usize>j << 2), <f32>(<f64>load<f32>(dst + (<usize>j << 2)) * f64x2.extract_lane(inverse, 0)));
    if (visible < width) memory.fill(dst + (<usize>visible << 2), 0, <usize>(width - visible) << 2);
  }
}

/**
 * For each row of x (rows × width f32): its largest value, and Σ e^(x − largest) in f64 taken in
 * order, as kernels/SoftmaxCrossEntropy.ts sums them (the caller takes the log). `out` holds
 * `rows` pairs of f64: largest, sum.
 */
export function logSumExpParts(x: usize, rows: i32, width: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>width) << 2);
    const largest = rowMax(src, width);
    const total = sumExp(src, width, <f64>largest, false, 0);
    const at = out + (<usize>r << 4);
    store<f64>(at, <f64>largest);
    store<f64>(at, total, 8);
  }
}
