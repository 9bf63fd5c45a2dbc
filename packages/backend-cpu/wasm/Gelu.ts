// AssemblyScript: tanh-GELU and its derivative, two f64 lanes at a time, as src/fast/Unary.ts
// computes them (f64 throughout, x / (1 + e^(−2u)), the same operations in the same order), with
// e^t from a polynomial instead of Math.exp: results are the same f32 values but for the rare
// element whose f64 value lies within an ulp of an f32 rounding boundary.

const SQRT_2_OVER_PI: f64 = 0.7978845608028654; // Math.sqrt(2 / Math.PI)
const CUBIC: f64 = 0.044715;
const LOG2E: f64 = 1.4426950408889634;
// ln 2 split so that k · LN2_HI is exact for |k| < 2^11 (fdlibm's constants).
const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;
// Past these e^t is taken as +∞ or 0: above, the reference's results are f64 values far below
// f32's least subnormal (and e^t overflows f64 soon after); below, 1 + e^t is exactly 1 in f64.
const EXP_HIGH: f64 = 709;
const EXP_LOW: f64 = -100;

/**
 * e^t for both lanes: t = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series to r^13 / 13!
 * (truncation under 1e-17 relative), times 2^k built in the exponent bits. +∞ above EXP_HIGH, 0
 * below EXP_LOW, NaN for NaN.
 */
@inline
function expLanes(t: v128): v128 {
  const clamped = f64x2.min(f64x2.max(t, f64x2.splat(EXP_LOW)), f64x2.splat(EXP_HIGH));
  const k = f64x2.nearest(f64x2.mul(clamped, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(clamped, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  // Horner from 1/13! down to 1/1!, then + 1.
  let p = f64x2.splat(1.0 / 6227020800.0);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 479001600.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 39916800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 3628800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 362880.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  const ks = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const scale = i64x2.shl(i64x2.add(ks, i64x2.splat(1023)), 52);
  const e = f64x2.mul(p, scale);
  // t itself decides the ends (NaN compares false both ways and stays NaN through the polynomial).
  const high = f64x2.gt(t, f64x2.splat(EXP_HIGH));
  const low = f64x2.lt(t, f64x2.splat(EXP_LOW));
  return v128.bitselect(f64x2.splat(Infinity), v128.bitselect(f64x2.splat(0), e, low), high);
}

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

@inline
function loadPair(src: usize, i: i32): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(src + (<usize>i << 2)));
}

@inline
function storePair(dst: usize, i: i32, value: v128): void {
  v128.store64_lane(dst + (<usize>i << 2), f32x4.demote_f64x2_zero(value), 0);
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
