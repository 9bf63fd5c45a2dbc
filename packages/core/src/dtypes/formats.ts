/**
 * The low-precision float formats octet stores: four FP8 element formats, the e8m0 scale
 * format of the OCP MX spec, bf16 and f16. Each descriptor lists what a reader of a
 * checkpoint or a kernel author needs: layout, range and the special-value rules.
 */
import { check } from '../errors.js';

/** The FP8 element formats. `fn` = finite (no infinities); `uz` = unsigned zero (no -0, one NaN). */
export type Fp8Format = 'e4m3fn' | 'e5m2' | 'e4m3fnuz' | 'e5m2fnuz';

/** Every format octet can encode to and decode from. */
export type FloatFormat = Fp8Format | 'e8m0' | 'bf16' | 'f16';

/** Rounding modes of the encoders. */
export type Rounding = 'nearest-even' | 'stochastic';

export interface FloatFormatInfo {
  readonly name: FloatFormat;
  /** Storage bits per value. */
  readonly bits: 8 | 16;
  /** False only for e8m0, which has no sign bit. */
  readonly signed: boolean;
  readonly exponentBits: number;
  readonly mantissaBits: number;
  /** Exponent bias: value = 2^(exponent field - bias) × 1.mantissa for normal codes. */
  readonly bias: number;
  /** Largest finite value. */
  readonly max: number;
  /** Smallest positive normal value. */
  readonly minNormal: number;
  /** Smallest positive subnormal value; null when the format has no subnormals (e8m0). */
  readonly minSubnormal: number | null;
  readonly hasInfinity: boolean;
  readonly hasNegativeZero: boolean;
  /** Which bit patterns are NaN, in words. */
  readonly nanRule: string;
  /** Code of +max. */
  readonly maxCode: number;
  /** Code of +infinity, or null when the format has none. */
  readonly infinityCode: number | null;
  /** The NaN code the encoders write (before the sign bit is applied, where there is one). */
  readonly nanCode: number;
}

export interface Fp8FormatInfo extends FloatFormatInfo {
  readonly name: Fp8Format;
  readonly bits: 8;
  readonly minSubnormal: number;
  /**
   * Exponent of the largest power of two not above `max` (8 for e4m3fn, 15 for e5m2): the
   * `emax_elem` the OCP MX spec subtracts when it derives a block's shared scale.
   */
  readonly maxExponent: number;
}

export const FP8_FORMATS: Readonly<Record<Fp8Format, Fp8FormatInfo>> = Object.freeze({
  e4m3fn: {
    name: 'e4m3fn',
    bits: 8,
    signed: true,
    exponentBits: 4,
    mantissaBits: 3,
    bias: 7,
    max: 448,
    minNormal: 2 ** -6,
    minSubnormal: 2 ** -9,
    hasInfinity: false,
    hasNegativeZero: true,
    nanRule: 'S.1111.111 (0x7F, 0xFF)',
    maxCode: 0x7e,
    infinityCode: null,
    nanCode: 0x7f,
    maxExponent: 8,
  },
  e5m2: {
    name: 'e5m2',
    bits: 8,
    signed: true,
    exponentBits: 5,
    mantissaBits: 2,
    bias: 15,
    max: 57344,
    minNormal: 2 ** -14,
    minSubnormal: 2 ** -16,
    hasInfinity: true,
    hasNegativeZero: true,
    nanRule: 'S.11111.xx with xx ≠ 00 (infinity is S.11111.00)',
    maxCode: 0x7b,
    infinityCode: 0x7c,
    nanCode: 0x7e,
    maxExponent: 15,
  },
  e4m3fnuz: {
    name: 'e4m3fnuz',
    bits: 8,
    signed: true,
    exponentBits: 4,
    mantissaBits: 3,
    bias: 8,
    max: 240,
    minNormal: 2 ** -7,
    minSubnormal: 2 ** -10,
    hasInfinity: false,
    hasNegativeZero: false,
    nanRule: '0x80 only',
    maxCode: 0x7f,
    infinityCode: null,
    nanCode: 0x80,
    maxExponent: 7,
  },
  e5m2fnuz: {
    name: 'e5m2fnuz',
    bits: 8,
    signed: true,
    exponentBits: 5,
    mantissaBits: 2,
    bias: 16,
    max: 57344,
    minNormal: 2 ** -15,
    minSubnormal: 2 ** -17,
    hasInfinity: false,
    hasNegativeZero: false,
    nanRule: '0x80 only',
    maxCode: 0x7f,
    infinityCode: null,
    nanCode: 0x80,
    maxExponent: 15,
  },
});

/** e8m0: an unsigned power of two 2^(code - 127), used as the shared scale of an MX block. */
export const E8M0_FORMAT: FloatFormatInfo = Object.freeze({
  name: 'e8m0',
  bits: 8,
  signed: false,
  exponentBits: 8,
  mantissaBits: 0,
  bias: 127,
  max: 2 ** 127,
  minNormal: 2 ** -127,
  minSubnormal: null,
  hasInfinity: false,
  hasNegativeZero: false,
  nanRule: '0xFF only; there is no zero',
  maxCode: 0xfe,
  infinityCode: null,
  nanCode: 0xff,
});

export const BF16_FORMAT: FloatFormatInfo = Object.freeze({
  name: 'bf16',
  bits: 16,
  signed: true,
  exponentBits: 8,
  mantissaBits: 7,
  bias: 127,
  max: 3.3895313892515355e38,
  minNormal: 2 ** -126,
  minSubnormal: 2 ** -133,
  hasInfinity: true,
  hasNegativeZero: true,
  nanRule: 'S.11111111.m with m ≠ 0 (IEEE)',
  maxCode: 0x7f7f,
  infinityCode: 0x7f80,
  nanCode: 0x7fc0,
});

export const F16_FORMAT: FloatFormatInfo = Object.freeze({
  name: 'f16',
  bits: 16,
  signed: true,
  exponentBits: 5,
  mantissaBits: 10,
  bias: 15,
  max: 65504,
  minNormal: 2 ** -14,
  minSubnormal: 2 ** -24,
  hasInfinity: true,
  hasNegativeZero: true,
  nanRule: 'S.11111.m with m ≠ 0 (IEEE)',
  maxCode: 0x7bff,
  infinityCode: 0x7c00,
  nanCode: 0x7e00,
});

/** All seven formats by name. */
export const FLOAT_FORMATS: Readonly<Record<FloatFormat, FloatFormatInfo>> = Object.freeze({
  ...FP8_FORMATS,
  e8m0: E8M0_FORMAT,
  bf16: BF16_FORMAT,
  f16: F16_FORMAT,
});

const FP8_FORMAT_NAMES = Object.keys(FP8_FORMATS) as Fp8Format[];
const FP8_ALLOWED = FP8_FORMAT_NAMES.map((name) => `'${name}'`).join(', ');

export function isFp8Format(value: unknown): value is Fp8Format {
  return typeof value === 'string' && Object.hasOwn(FP8_FORMATS, value);
}

/** Throws an OctetArgumentError naming `argument` unless `value` is an FP8 format name. */
export function checkFp8Format(value: unknown, argument = 'format'): asserts value is Fp8Format {
  check(isFp8Format(value), argument, value, `one of ${FP8_ALLOWED}`);
}

export function checkRounding(value: unknown, argument = 'rounding'): asserts value is Rounding {
  check(value === 'nearest-even' || value === 'stochastic', argument, value, "'nearest-even' or 'stochastic'");
}

/** A seed for stochastic rounding: an integer in [0, 2^32). */
export function checkSeed(value: unknown, argument = 'seed'): asserts value is number {
  check(
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff,
    argument,
    value,
    'an integer in [0, 4294967295]',
  );
}

export function checkFloat32Array(value: unknown, argument: string): asserts value is Float32Array {
  check(value instanceof Float32Array, argument, value, 'a Float32Array');
}

/** An optional output buffer must be the given type and exactly `length` long. */
export function checkOutput<T extends Uint8Array | Uint16Array | Float32Array>(
  out: unknown,
  type: { new (length: number): T; name: string },
  length: number,
  argument = 'out',
): T {
  if (out === undefined) return new type(length);
  check(out instanceof type && out.length === length, argument, out, `a ${type.name} of length ${length}`);
  return out as T;
}
