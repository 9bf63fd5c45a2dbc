/**
 * e8m0 codec: the shared scale of an OCP MX block, an unsigned power of two 2^(code - 127)
 * with code 0xFF for NaN. There is no zero, no sign and no infinity.
 *
 * Encoding takes the exponent of each value: rounding 'floor' (default) gives
 * 2^floor(log2 x), what the OCP MX spec uses for block scales; 'ceil' gives 2^ceil(log2 x).
 * Results are clamped to [2^-127, 2^127]; 0 becomes 2^-127; NaN, +inf and negative values
 * become NaN (0xFF): a scale has no sign and no infinity, and clamping one silently would
 * hide a broken amax.
 */
import { check } from '../errors.js';
import { checkFloat32Array, checkOutput } from './formats.js';
import { bitsOf } from './minifloat.js';

export type E8m0Rounding = 'floor' | 'ceil';

export interface E8m0EncodeOptions {
  rounding?: E8m0Rounding;
}

export const E8M0_NAN = 0xff;

/** f32 → e8m0 codes. `out`, when given, must be a Uint8Array of the same length. */
export function encode(values: Float32Array, options: E8m0EncodeOptions = {}, out?: Uint8Array): Uint8Array {
  checkFloat32Array(values, 'values');
  const { rounding = 'floor' } = options;
  check(rounding === 'floor' || rounding === 'ceil', 'options.rounding', rounding, "'floor' or 'ceil'");
  const codes = checkOutput(out, Uint8Array, values.length);
  const bits = bitsOf(values);
  const roundUp = rounding === 'ceil';
  for (let i = 0; i < bits.length; i++) codes[i] = encodeOne(bits[i]!, roundUp);
  return codes;
}

function encodeOne(u: number, roundUp: boolean): number {
  if (u === (0x80000000 | 0)) return 0; // -0 is a zero
  if (u < 0 || u >= 0x7f800000) return E8M0_NAN; // negative, +inf or NaN
  const biased = u >>> 23;
  const mantissa = u & 0x7fffff;
  if (!roundUp || mantissa === 0) return biased; // an f32's biased exponent is its e8m0 code
  if (biased === 0) return mantissa <= 0x400000 ? 0 : 1; // f32 subnormal: at most 2^-127, or not
  return Math.min(biased + 1, 0xfe);
}

/** e8m0 codes → f32 powers of two (0xFF → NaN). `out`, when given, must be a Float32Array of the same length. */
export function decode(codes: Uint8Array, out?: Float32Array): Float32Array {
  check(codes instanceof Uint8Array, 'codes', codes, 'a Uint8Array');
  const values = checkOutput(out, Float32Array, codes.length);
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    values[i] = code === E8M0_NAN ? Number.NaN : 2 ** (code - 127);
  }
  return values;
}

/** The e8m0 code of 2^exponent, for an integer exponent in [-127, 127]. */
export function fromExponent(exponent: number): number {
  check(Number.isInteger(exponent) && exponent >= -127 && exponent <= 127, 'exponent', exponent, 'an integer in [-127, 127]');
  return exponent + 127;
}
