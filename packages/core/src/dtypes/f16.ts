/**
 * f16 codec: f32 ⇄ IEEE binary16, as 16-bit codes in a Uint16Array. Encoding rounds to
 * nearest, ties to even, or stochastically; overflow goes to ±inf and NaN stays NaN (made
 * quiet), as IEEE conversion does (and as `Float16Array` does where it exists). Decoding is
 * exact.
 */
import { check } from '../errors.js';
import type { Float16EncodeOptions } from './bf16.js';
import { checkFloat32Array, checkOutput, checkRounding, checkSeed, F16_FORMAT } from './formats.js';
import { bitsOf, type EncodeRule, encodeNearestEven16, encodeStochastic16, MINIFLOAT_SLOT } from './minifloat.js';
import { CHUNK_LENGTH, freshSeed, RoundingRandom } from './rounding-random.js';

export type { Float16EncodeOptions } from './bf16.js';

const RULE: EncodeRule = {
  slot: MINIFLOAT_SLOT.f16,
  maxCode: F16_FORMAT.maxCode,
  overflowCode: F16_FORMAT.infinityCode!,
  nanCode: F16_FORMAT.nanCode,
  negativeZeroMask: 0x8000,
};

const randomBits = new Uint32Array(CHUNK_LENGTH);

/** f32 → f16 codes. `out`, when given, must be a Uint16Array of the same length. */
export function encode(values: Float32Array, options: Float16EncodeOptions = {}, out?: Uint16Array): Uint16Array {
  checkFloat32Array(values, 'values');
  const { rounding = 'nearest-even', seed } = options;
  checkRounding(rounding, 'options.rounding');
  if (seed !== undefined) checkSeed(seed, 'options.seed');
  const codes = checkOutput(out, Uint16Array, values.length);
  const bits = bitsOf(values);
  if (rounding === 'nearest-even') {
    encodeNearestEven16(bits, codes, RULE);
    return codes;
  }
  const random = new RoundingRandom(seed ?? freshSeed());
  for (let start = 0; start < bits.length; start += CHUNK_LENGTH) {
    const end = Math.min(start + CHUNK_LENGTH, bits.length);
    random.fill(randomBits);
    encodeStochastic16(bits.subarray(start, end), codes.subarray(start, end), RULE, randomBits);
  }
  return codes;
}

/** f16 codes → f32 (exact). `out`, when given, must be a Float32Array of the same length. */
export function decode(codes: Uint16Array, out?: Float32Array): Float32Array {
  check(codes instanceof Uint16Array, 'codes', codes, 'a Uint16Array');
  const values = checkOutput(out, Float32Array, codes.length);
  const outBits = bitsOf(values);
  const n = codes.length;
  for (let i = 0; i < n; i++) {
    const h = codes[i]!;
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      outBits[i] = sign | 0x7f800000 | (mantissa << 13); // ±inf, or NaN with its payload
    } else if (exponent !== 0) {
      outBits[i] = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    } else {
      // ±0 and subnormals: mantissa × 2^-24 is exact in f32.
      values[i] = sign === 0 ? mantissa * 2 ** -24 : -mantissa * 2 ** -24;
    }
  }
  return values;
}
