// AssemblyScript: e^t in two f64 lanes, for the kernels that must give Math.exp's f32 results.

const LOG2E: f64 = 1.4426950408889634;
// ln 2 split so that k · LN2_HI is exact for |k| < 2^11 (fdlibm's constants).
const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;
// Past these e^t is taken as +∞ or 0: above, e^t overflows f64 soon after (and f32 long before);
// below, e^t is about f64's least normal number or less: 0 once rounded to f32, and nothing beside
// the 1 it is added to (GELU's 1 + e^t, a softmax row's sum, which holds e^0 for its maximum).
const EXP_HIGH: f64 = 709;
const EXP_LOW: f64 = -708;

/**
 * e^t for both lanes: t = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series to r^13 / 13!
 * (truncation under 1e-17 relative), times 2^k built in the exponent bits. +∞ above EXP_HIGH, 0
 * below EXP_LOW, NaN for NaN.
 */
@inline
export function expLanes(t: v128): v128 {
  // pmax/pmin (one instruction each on x86; NaN t stays NaN through both) rather than max/min.
  const clamped = f64x2.pmin(f64x2.pmax(t, f64x2.splat(EXP_LOW)), f64x2.splat(EXP_HIGH));
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
  // 2^k from the bits of k + 1023 + 2^52, whose low 52 bits are the integer k + 1023 (k ≥ −1022 here).
  const scale = i64x2.shl(f64x2.add(k, f64x2.splat(1023 + 4503599627370496.0)), 52);
  const e = f64x2.mul(p, scale);
  // t itself decides the ends (NaN compares false both ways and stays NaN through the polynomial).
  const high = f64x2.gt(t, f64x2.splat(EXP_HIGH));
  const low = f64x2.lt(t, f64x2.splat(EXP_LOW));
  return v128.bitselect(f64x2.splat(Infinity), v128.bitselect(f64x2.splat(0), e, low), high);
}

/** Two f32 values at x[i], x[i + 1] as f64 lanes. */
@inline
export function loadPair(src: usize, i: i32): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(src + (<usize>i << 2)));
}

/** Two f64 lanes rounded to f32 and stored at dst[i], dst[i + 1]. */
@inline
export function storePair(dst: usize, i: i32, value: v128): void {
  v128.store64_lane(dst + (<usize>i << 2), f32x4.demote_f64x2_zero(value), 0);
}
