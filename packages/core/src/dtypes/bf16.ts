/**
 * bf16 codec: f32 ⇄ bfloat16 (the top half of an f32), as 16-bit codes in a Uint16Array.
 * Encoding rounds to nearest, ties to even (overflow goes to ±inf, as IEEE rounding does),
 * or stochastically; NaN stays NaN (made quiet). Decoding is exact.
 */
import { check } from '../errors.js';
import { checkFloat32Array, checkOutput, checkRounding, checkSeed, type Rounding } from './formats.js';
import { bitsOf } from './minifloat.js';
import { CHUNK_LENGTH, freshSeed, RoundingRandom } from './rounding-random.js';

export interface Float16EncodeOptions {
  /** 'nearest-even' (default) or 'stochastic'. */
  rounding?: Rounding;
  /** Seed of the stochastic rounding generator, an integer in [0, 2^32). Random when omitted. */
  seed?: number;
}

const randomBits = new Uint32Array(CHUNK_LENGTH);

/** f32 → bf16 codes. `out`, when given, must be a Uint16Array of the same length. */
export function encode(values: Float32Array, options: Float16EncodeOptions = {}, out?: Uint16Array): Uint16Array {
  checkFloat32Array(values, 'values');
  const { rounding = 'nearest-even', seed } = options;
  checkRounding(rounding, 'options.rounding');
  if (seed !== undefined) checkSeed(seed, 'options.seed');
  const codes = checkOutput(out, Uint16Array, values.length);
  const bits = bitsOf(values);
  if (rounding === 'nearest-even') {
    encodeNearestEven(bits, codes);
    return codes;
  }
  const random = new RoundingRandom(seed ?? freshSeed());
  for (let start = 0; start < bits.length; start += CHUNK_LENGTH) {
    const end = Math.min(start + CHUNK_LENGTH, bits.length);
    random.fill(randomBits);
    encodeStochastic(bits.subarray(start, end), codes.subarray(start, end), randomBits);
  }
  return codes;
}

function encodeNearestEven(bits: Int32Array, out: Uint16Array): void {
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    // 0x7fff plus the lowest kept bit rounds the low half to nearest, ties to even.
    out[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  }
}

/** Rounds up with probability (low 16 bits) / 2^16: add 16 random bits, then truncate. */
function encodeStochastic(bits: Int32Array, out: Uint16Array, random: Uint32Array): void {
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    out[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + (random[i]! >>> 16)) >>> 16;
  }
}

/** bf16 codes → f32 (exact). `out`, when given, must be a Float32Array of the same length. */
export function decode(codes: Uint16Array, out?: Float32Array): Float32Array {
  check(codes instanceof Uint16Array, 'codes', codes, 'a Uint16Array');
  const values = checkOutput(out, Float32Array, codes.length);
  const outBits = bitsOf(values);
  const n = codes.length;
  for (let i = 0; i < n; i++) outBits[i] = codes[i]! << 16;
  return values;
}
