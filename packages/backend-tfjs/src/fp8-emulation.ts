/**
 * FP8 (and bf16 / f16) rounding emulated with tfjs ops, bit-exact with core's codecs. tfjs has no
 * 8-bit dtypes and no bitcast, so nothing here reads an f32 bit pattern; every step is exact:
 * - FP8 encode: the magnitude code is the number of midpoints between neighbouring FP8 values
 *   that lie below |x| (tf.searchSorted over a 128-entry table), a tie going to the even code;
 *   every overflow is then "code > maxCode", as in core's codec. Decode is a 256-entry table.
 *   Engines without tf.searchSorted ('tensorflow') use the binade method below instead.
 * - bf16 / f16 (too many values for a table), and FP8 without searchSorted: the binade
 *   e = floor(log2 |x|) is estimated with
 *   log and corrected against an exact table of powers of two; |x| · 2^(m - e) is exact, and
 *   tf.round rounds half to even on every engine, so round(|x| · 2^(m - e)) · 2^(e - m) is |x|
 *   rounded to m fraction bits, with subnormals handled by clamping e at the smallest normal
 *   exponent.
 * The one difference from core: a NaN input gives the format's NaN code without its sign bit
 * (a NaN's sign cannot be observed through tfjs ops); both decode to NaN.
 */
import { FP8_FORMATS, type Fp8Format, fp8 } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from './base.js';

/** f32 table of 2^k for k in [from, to]. */
function powersOfTwo(backend: TfjsBackend, from: number, to: number): tf.Tensor {
  return backend.constant(`2^[${from}, ${to}]`, () => tf.tensor1d(Float32Array.from({ length: to - from + 1 }, (_, i) => 2 ** (from + i))));
}

/** Picks table[e - from] for float32 integers e in [from, from + table length). */
function lookup(table: tf.Tensor, e: tf.Tensor, from: number): tf.Tensor {
  return tf.gather(table, tf.cast(tf.sub(e, from), 'int32'));
}

/**
 * floor(log2 a) clamped to [lo, hi], exactly, as float32 integers; `a` ≥ 0 with no NaN
 * (0 gives lo, +inf gives hi).
 */
export function binade(backend: TfjsBackend, a: tf.Tensor, lo: number, hi: number): tf.Tensor {
  const estimate = tf.clipByValue(tf.floor(tf.mul(tf.log(a), 1 / Math.LN2)), lo, hi);
  const power = lookup(powersOfTwo(backend, lo, hi + 1), estimate, lo);
  const below = tf.cast(tf.less(a, power), 'float32');
  const above = tf.cast(tf.greaterEqual(a, tf.mul(power, 2)), 'float32');
  return tf.clipByValue(tf.add(tf.sub(estimate, below), above), lo, hi);
}

/** True where x < 0 or x is -0 (1 / -0 = -inf). */
function signBit(x: tf.Tensor): tf.Tensor {
  return tf.logicalOr(tf.less(x, 0), tf.equal(tf.div(1, x), Number.NEGATIVE_INFINITY));
}

/**
 * round(a · 2^(m - e)) for a ≥ 0 and its clamped binade e in [lo, hi]: the significand rounded to
 * m fraction bits, ties to even. 2^(m - e) can exceed f32's range (2^133 for bf16 subnormals), so
 * it is applied as two exact factors.
 */
function roundedSignificand(backend: TfjsBackend, a: tf.Tensor, e: tf.Tensor, m: number, lo: number, hi: number): tf.Tensor {
  const count = hi - lo + 1;
  const half = (k: number) => Math.floor(k / 2);
  const first = backend.constant(`2^half(${m} - e) [${lo}, ${hi}]`, () =>
    tf.tensor1d(Float32Array.from({ length: count }, (_, i) => 2 ** half(m - lo - i))),
  );
  const second = backend.constant(`2^rest(${m} - e) [${lo}, ${hi}]`, () =>
    tf.tensor1d(Float32Array.from({ length: count }, (_, i) => 2 ** (m - lo - i - half(m - lo - i)))),
  );
  return tf.round(tf.mul(tf.mul(a, lookup(first, e, lo)), lookup(second, e, lo)));
}

/**
 * Midpoints between neighbouring non-negative codes 0..maxCode, and the one between max and the
 * step past it: a value's magnitude code is the number of midpoints below it. Each midpoint has at
 * most one more significant bit than the FP8 values beside it, so it is exact in f32.
 */
function midpoints(backend: TfjsBackend, format: Fp8Format): tf.Tensor {
  return backend.constant(`fp8 midpoints ${format}`, () => {
    const info = FP8_FORMATS[format];
    const values = fp8.decode(
      Uint8Array.from({ length: info.maxCode + 1 }, (_, i) => i),
      format,
    );
    const step = 2 ** (Math.floor(Math.log2(info.max)) - info.mantissaBits);
    return tf.tensor1d(Float32Array.from({ length: values.length }, (_, i) => ((values[i + 1] ?? info.max + step) + values[i]!) / 2));
  });
}

/**
 * FP8 codes (int32 0..255) of the f32 values `y`, as core's `fp8.encode`. The magnitude code comes
 * from two binary searches over the midpoints: they differ only when |y| is exactly a midpoint (a
 * tie), which goes to the even code, the one whose mantissa ends in 0. Codes above maxCode are the
 * overflows, as in core's codec.
 */
export function encodeFp8BySearch(backend: TfjsBackend, y: tf.Tensor, format: Fp8Format, saturate: boolean): tf.Tensor {
  const info = FP8_FORMATS[format];
  const nan = tf.isNaN(y);
  const a = tf.reshape(tf.where(nan, tf.zerosLike(y), tf.abs(y)), [-1]);
  const table = midpoints(backend, format);
  const down = tf.searchSorted(table, a, 'left');
  const up = tf.searchSorted(table, a, 'right');
  const tieToOdd = tf.logicalAnd(tf.notEqual(down, up), tf.equal(tf.mod(down, 2), 1));
  let code = tf.reshape(tf.where(tieToOdd, up, down), y.shape);
  const overflowCode = saturate ? info.maxCode : (info.infinityCode ?? info.nanCode);
  code = tf.where(tf.greater(code, info.maxCode), tf.fill(code.shape, overflowCode, 'int32'), code);
  let negative = signBit(y);
  // The fnuz formats have no -0: a zero code drops its sign, and the NaN code 0x80 has it already.
  if (!info.hasNegativeZero) negative = tf.logicalAnd(negative, tf.logicalAnd(tf.greater(code, 0), tf.less(code, 0x80)));
  code = tf.add(code, tf.mul(tf.cast(negative, 'int32'), tf.scalar(0x80, 'int32')));
  return tf.where(nan, tf.fill(code.shape, info.nanCode, 'int32'), code);
}

/**
 * The same codes without tf.searchSorted (which the 'tensorflow' engine lacks): the rounded
 * significand round(|y| · 2^(m - e)) plus (e - emin) · 2^m. The codes of one sign are ordered like
 * their values, so a carry into the next binade lands on the right code by itself.
 */
export function encodeFp8ByBinade(backend: TfjsBackend, y: tf.Tensor, format: Fp8Format, saturate: boolean): tf.Tensor {
  const info = FP8_FORMATS[format];
  const m = info.mantissaBits;
  const emin = 1 - info.bias;
  const emax = info.maxExponent;
  const nan = tf.isNaN(y);
  const a = tf.where(nan, tf.zerosLike(y), tf.abs(y));
  const e = binade(backend, a, emin, emax);
  let code = tf.add(roundedSignificand(backend, a, e, m, emin, emax), tf.mul(tf.sub(e, emin), 2 ** m));
  const overflowCode = saturate ? info.maxCode : (info.infinityCode ?? info.nanCode);
  code = tf.where(tf.greater(code, info.maxCode), tf.fill(code.shape, overflowCode), code);
  let negative = signBit(y);
  if (!info.hasNegativeZero) negative = tf.logicalAnd(negative, tf.logicalAnd(tf.greater(code, 0), tf.less(code, 0x80)));
  code = tf.add(code, tf.mul(tf.cast(negative, 'float32'), 0x80));
  return tf.cast(tf.where(nan, tf.fill(code.shape, info.nanCode), code), 'int32');
}

/** FP8 codes (int32 0..255) of the f32 values `y`, as core's `fp8.encode`, on whichever engine runs. */
export function encodeFp8(backend: TfjsBackend, y: tf.Tensor, format: Fp8Format, saturate: boolean): tf.Tensor {
  const encode = tf.getKernel('SearchSorted', tf.getBackend()) ? encodeFp8BySearch : encodeFp8ByBinade;
  return encode(backend, y, format, saturate);
}

/** The f32 value of every code of `format`, as core's `fp8.decode` gives it. */
function decodeTable(backend: TfjsBackend, format: Fp8Format): tf.Tensor {
  return backend.constant(`fp8 ${format}`, () =>
    tf.tensor1d(
      fp8.decode(
        Uint8Array.from({ length: 256 }, (_, i) => i),
        format,
      ),
    ),
  );
}

/** f32 values of FP8 codes (held as int32), by table lookup. */
export function decodeFp8(backend: TfjsBackend, codes: tf.Tensor, format: Fp8Format): tf.Tensor {
  return tf.reshape(tf.gather(decodeTable(backend, format), tf.reshape(codes, [-1])), codes.shape);
}

const FLOAT16 = {
  bf16: { m: 7, lo: -126, hi: 127, max: Number.POSITIVE_INFINITY },
  f16: { m: 10, lo: -14, hi: 15, max: 65504 },
} as const;

/** x rounded to the nearest bf16 / f16 value, ties to even, overflow to ±inf (as core's codecs then decode). */
export function roundToFloat16(backend: TfjsBackend, x: tf.Tensor, format: 'bf16' | 'f16'): tf.Tensor {
  const { m, lo, hi, max } = FLOAT16[format];
  const nan = tf.isNaN(x);
  const a = tf.where(nan, tf.zerosLike(x), tf.abs(x));
  const e = binade(backend, a, lo, hi);
  // The ulp 2^(e - m) is at least 2^-133, an f32 subnormal: the product below is exact.
  const ulp = lookup(powersOfTwo(backend, lo - m, hi - m), e, lo);
  let v = tf.mul(roundedSignificand(backend, a, e, m, lo, hi), ulp);
  // bf16 overflows to inf by itself (2^128 is past f32's range); f16 needs the check.
  if (Number.isFinite(max)) v = tf.where(tf.greater(v, max), tf.fill(v.shape, Number.POSITIVE_INFINITY), v);
  v = tf.where(signBit(x), tf.neg(v), v);
  return tf.where(nan, tf.fill(v.shape, Number.NaN), v);
}

/** The largest power of two ≤ x for finite x ≥ 2^-126; 0 below (as core reads it off the f32 exponent field). */
export function powerOfTwoBelow(backend: TfjsBackend, x: tf.Tensor): tf.Tensor {
  const a = tf.where(tf.isNaN(x), tf.zerosLike(x), x);
  const e = binade(backend, a, -126, 127);
  const p = lookup(powersOfTwo(backend, -126, 127), e, -126);
  return tf.where(tf.less(a, 2 ** -126), tf.zerosLike(a), p);
}
