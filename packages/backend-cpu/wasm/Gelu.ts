// AssemblyScript: tanh-GELU and its derivative, two f64 lanes at a time, as src/fast/Unary.ts
// computes them (f64 throughout, x / (1 + e^(−2u)), the same operations in the same order), with
// e^t from a polynomial instead of Math.exp: results are the same f32 values but for the rare
// element whose f64 value lies within an ulp of an f32 rounding boundary.

import { expLanes, loadPair, storePair } from './Exp';

const SQRT_2_OVER_PI: f64 = 0.7978845608028654; // Math.sqrt(2 / Math.PI)
const CUBIC: f64 = 0.044715;
/** −2u for u = √(2/π)·(x + 0.044715·x³), in the reference's order of operations. */
@inline
function minusTwoU(x: v128): v128 {
  const cube = f64x2.mul(f64x2.mul(f64x2.mul(f64x2.splat(CUBIC), x), x), x);
  return f64x2.mul(f64x2.splat(-2 * SQRT_2_OVER_PI), f64x2.add(x, cube));
}

@inline
function geluLanes(x: v128): v128 {
  return f64x2.div(x, f64x2.add(f64x2.splat(1), expLanes(minusTwoU(x))));
}

@inline
function geluGradLanes(dy: v128, x: v128): v128 {
  const s = f64x2.div(f64x2.splat(1), f64x2.add(f64x2.splat(1), expLanes(minusTwoU(x))));
  // s + 2·x·s·(1 − s)·√(2/π)·(1 + 3·0.044715·x²), left to right as written in the reference.
  const slope = f64x2.mul(
    f64x2.mul(f64x2.mul(f64x2.mul(f64x2.splat(2), x), s), f64x2.sub(f64x2.splat(1), s)),
    f64x2.splat(SQRT_2_OVER_PI),
  );
  const curve = f64x2.add(f64x2.splat(1), f64x2.mul(f64x2.mul(f64x2.splat(3 * CUBIC), x), x));
  return f64x2.mul(dy, f64x2.add(s, f64x2.mul(slope, curve)));
}

/** out[i] = gelu(x[i]) for i < n (f32 arrays). */
export function gelu(x: usize, out: usize, n: i32): void {
  const eight = n & ~7;
  for (let i = 0; i < eight; i += 8) {
    // Four independent pairs per turn, so their long dependency chains overlap.
    const a = geluLanes(loadPair(x, i));
    const b = geluLanes(loadPair(x, i + 2));
    const c = geluLanes(loadPair(x, i + 4));
    const d = geluLanes(loadPair(x, i + 6));
    storePair(out, i, a);
    storePair(out, i + 2, b);
    storePair(out, i + 4, c);
    storePair(out, i + 6, d);
  }
  const even = n & ~1;
  for (let i = eight; i < even; i += 2) storePair(out, i, geluLanes(loadPair(x, i)));
  if (even < n) store<f32>(out + (<usize>even << 2), <f32>f64x2.extract_lane(geluLanes(f64x2.splat(<f64>load<f32>(x + (<usize>even << 2)))), 0));
}

/** out[i] = dy[i] · gelu′(x[i]) for i < n (f32 arrays). */
export function geluGrad(dy: usize, x: usize, out: usize, n: i32): void {
  const eight = n & ~7;
  for (let i = 0; i < eight; i += 8) {
    const a = geluGradLanes(loadPair(dy, i), loadPair(x, i));
    const b = geluGradLanes(loadPair(dy, i + 2), loadPair(x, i + 2));
    const c = geluGradLanes(loadPair(dy, i + 4), loadPair(x, i + 4));
    const d = geluGradLanes(loadPair(dy, i + 6), loadPair(x, i + 6));
    storePair(out, i, a);
    storePair(out, i + 2, b);
    storePair(out, i + 4, c);
    storePair(out, i + 6, d);
  }
  const even = n & ~1;
  for (let i = eight; i < even; i += 2) storePair(out, i, geluGradLanes(loadPair(dy, i), loadPair(x, i)));
  if (even < n) {
    const at = <usize>even << 2;
    const value = geluGradLanes(f64x2.splat(<f64>load<f32>(dy + at)), f64x2.splat(<f64>load<f32>(x + at)));
    store<f32>(out + at, <f32>f64x2.extract_lane(value, 0));
  }
}
