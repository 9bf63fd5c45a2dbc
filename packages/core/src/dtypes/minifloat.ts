/**
 * The encoding engine shared by the FP8 and f16 codecs: f32 → small float by integer
 * arithmetic on the f32 bit pattern.
 *
 * For an f32 with biased exponent E and 24-bit significand m (implicit bit included), the
 * target code is `round(m / 2^shift[E]) + offset[E]`:
 * - in the target's normal range `shift` drops the surplus mantissa bits and `offset` adds
 *   the re-biased exponent field; a carry out of the mantissa lands on the next exponent by
 *   itself, because the codes of one sign are ordered like the values they stand for;
 * - below it, `shift` grows by one per binade and `offset` is 0, which gives the subnormal
 *   codes (and 0), again with the carry into the smallest normal code for free.
 * Every code above `maxCode` is an overflow and becomes `overflowCode` (±max when saturating,
 * NaN or ±inf when not). So the non-saturating rule "round on the grid extended one step past
 * max; landing there overflows" is exactly "code > maxCode".
 *
 * FP8 round-to-nearest-even runs through a lookup table filled by this arithmetic (see
 * `nearestEvenLookupTable`); stochastic rounding and f16 use the arithmetic directly.
 *
 * The tables of all formats live in module-level arrays indexed by `slot << 8 | E`: V8 then
 * treats the arrays as constants and drops the bounds checks, which is worth ~20% here.
 */
import { F16_FORMAT, type FloatFormatInfo, FP8_FORMATS, type Fp8Format } from './formats.js';

/** Which table rows belong to which format. */
export const MINIFLOAT_SLOT: Readonly<Record<Fp8Format | 'f16', number>> = {
  e4m3fn: 0,
  e5m2: 1,
  e4m3fnuz: 2,
  e5m2fnuz: 3,
  f16: 4,
};

const SLOT_COUNT = 8;
/** Significand bits dropped, capped at 31 (enough to round anything to 0). */
const SHIFT = new Int32Array(SLOT_COUNT * 256);
/** 2^(shift-1) - 1: added together with the lowest kept bit, it rounds to nearest, ties to even. */
const HALF_MINUS_ONE = new Int32Array(SLOT_COUNT * 256);
/** Significand bits dropped, not capped: stochastic rounding needs the exact position. */
const EXACT_SHIFT = new Int32Array(SLOT_COUNT * 256);
/** 2^(32 - exact shift): turns the dropped bits into a threshold for a 32-bit random number. */
const RANDOM_THRESHOLD_SCALE = new Float64Array(SLOT_COUNT * 256);
const OFFSET = new Int32Array(SLOT_COUNT * 256);

function fillTables(slot: number, info: FloatFormatInfo): void {
  const minNormalExponent = 1 - info.bias;
  for (let biased = 0; biased < 256; biased++) {
    const row = (slot << 8) | biased;
    // f32 subnormals (biased exponent 0) share the binade scale of biased exponent 1.
    const exponent = Math.max(biased, 1) - 127;
    const extra = Math.max(0, minNormalExponent - exponent);
    EXACT_SHIFT[row] = 23 - info.mantissaBits + extra;
    SHIFT[row] = Math.min(EXACT_SHIFT[row]!, 31);
    HALF_MINUS_ONE[row] = 2 ** (SHIFT[row]! - 1) - 1;
    RANDOM_THRESHOLD_SCALE[row] = 2 ** (32 - EXACT_SHIFT[row]!);
    OFFSET[row] = extra > 0 ? 0 : (exponent + info.bias - 1) << info.mantissaBits;
  }
}
for (const format of Object.keys(FP8_FORMATS) as Fp8Format[]) fillTables(MINIFLOAT_SLOT[format], FP8_FORMATS[format]);
fillTables(MINIFLOAT_SLOT.f16, F16_FORMAT);

/** How one encode call treats the codes beyond the table arithmetic. */
export interface EncodeRule {
  readonly slot: number;
  readonly maxCode: number;
  /** What a code above `maxCode` becomes: ±max (saturating), NaN or ±inf. */
  readonly overflowCode: number;
  /** What a NaN input becomes (the sign is added where the format keeps one). */
  readonly nanCode: number;
  /** The sign bit for formats with -0; 0 for the fnuz formats, where a zero result drops its sign. */
  readonly negativeZeroMask: number;
}

/*
 * The sign is applied as `code | (sign & ((code + signBit - 1) | negativeZeroMask))`. With a
 * -0 the mask covers the sign bit, so the sign is kept. In the fnuz formats `code + signBit
 * - 1` has the sign bit exactly when code ≠ 0: zero loses its sign, and the NaN code 0x80,
 * which has the bit already, is unchanged.
 */

/** Round to nearest, ties to even: f32 bit patterns → 8-bit codes (same length). */
export function encodeNearestEven8(bits: Int32Array, out: Uint8Array, rule: EncodeRule): void {
  const base = (rule.slot & (SLOT_COUNT - 1)) << 8;
  const { maxCode, overflowCode, nanCode, negativeZeroMask } = rule;
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    const abs = u & 0x7fffffff;
    const row = base | (abs >>> 23);
    const shift = SHIFT[row]!;
    const significand = (abs & 0x7fffff) | 0x800000;
    let code = ((significand + HALF_MINUS_ONE[row]! + ((significand >>> shift) & 1)) >>> shift) + OFFSET[row]!;
    if (code > maxCode) code = overflowCode;
    if (abs > 0x7f800000) code = nanCode;
    const sign = (u >>> 24) & 0x80;
    out[i] = code | (sign & ((code + 0x7f) | negativeZeroMask));
  }
}

/**
 * Stochastic rounding to 8-bit codes: rounds up with probability (dropped bits) / 2^shift,
 * the value's fractional position between its two neighbouring codes. `random` holds one
 * uniform 32-bit number per value.
 */
export function encodeStochastic8(bits: Int32Array, out: Uint8Array, rule: EncodeRule, random: Uint32Array): void {
  const base = (rule.slot & (SLOT_COUNT - 1)) << 8;
  const { maxCode, overflowCode, nanCode, negativeZeroMask } = rule;
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    const abs = u & 0x7fffffff;
    const biased = abs >>> 23;
    const row = base | biased;
    const significand = (abs & 0x7fffff) | (biased === 0 ? 0 : 0x800000);
    const shift = EXACT_SHIFT[row]!;
    // JS shift counts are taken mod 32, so shifting everything out is spelled out.
    const truncated = shift < 32 ? significand >>> shift : 0;
    const dropped = significand - truncated * 2 ** shift;
    const roundUp = random[i]! < dropped * RANDOM_THRESHOLD_SCALE[row]! ? 1 : 0;
    let code = truncated + roundUp + OFFSET[row]!;
    if (code > maxCode) code = overflowCode;
    if (abs > 0x7f800000) code = nanCode;
    const sign = (u >>> 24) & 0x80;
    out[i] = code | (sign & ((code + 0x7f) | negativeZeroMask));
  }
}

/** As `encodeNearestEven8`, for 16-bit codes (f16); NaN payloads keep their top bits. */
export function encodeNearestEven16(bits: Int32Array, out: Uint16Array, rule: EncodeRule): void {
  const base = (rule.slot & (SLOT_COUNT - 1)) << 8;
  const { maxCode, overflowCode, nanCode, negativeZeroMask } = rule;
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    const abs = u & 0x7fffffff;
    const row = base | (abs >>> 23);
    const shift = SHIFT[row]!;
    const significand = (abs & 0x7fffff) | 0x800000;
    let code = ((significand + HALF_MINUS_ONE[row]! + ((significand >>> shift) & 1)) >>> shift) + OFFSET[row]!;
    if (code > maxCode) code = overflowCode;
    if (abs > 0x7f800000) code = nanCode | ((abs >>> 13) & 0x3ff);
    const sign = (u >>> 16) & 0x8000;
    out[i] = code | (sign & ((code + 0x7fff) | negativeZeroMask));
  }
}

/** As `encodeStochastic8`, for 16-bit codes (f16). */
export function encodeStochastic16(bits: Int32Array, out: Uint16Array, rule: EncodeRule, random: Uint32Array): void {
  const base = (rule.slot & (SLOT_COUNT - 1)) << 8;
  const { maxCode, overflowCode, nanCode, negativeZeroMask } = rule;
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    const abs = u & 0x7fffffff;
    const biased = abs >>> 23;
    const row = base | biased;
    const significand = (abs & 0x7fffff) | (biased === 0 ? 0 : 0x800000);
    const shift = EXACT_SHIFT[row]!;
    const truncated = shift < 32 ? significand >>> shift : 0;
    const dropped = significand - truncated * 2 ** shift;
    const roundUp = random[i]! < dropped * RANDOM_THRESHOLD_SCALE[row]! ? 1 : 0;
    let code = truncated + roundUp + OFFSET[row]!;
    if (code > maxCode) code = overflowCode;
    if (abs > 0x7f800000) code = nanCode | ((abs >>> 13) & 0x3ff);
    const sign = (u >>> 16) & 0x8000;
    out[i] = code | (sign & ((code + 0x7fff) | negativeZeroMask));
  }
}

/**
 * Round to nearest even for the FP8 formats by table lookup, the fast path.
 *
 * FP8 keeps at most 3 of the 23 mantissa bits, so its rounding bit is bit 19 of the f32 or
 * higher: the result depends only on the top 16 bits of the f32 and on whether the low 16 bits
 * are zero (they can only break a tie or turn inf into NaN). A table of 2^17 codes, indexed by
 * `top16 << 1 | (low16 ≠ 0)` and filled by `encodeNearestEven8` itself, therefore gives the
 * same bytes for every input. See `nearestEvenLookupTable`.
 */
export const LOOKUP_TABLE_SIZE = 1 << 17;

/** Fills a lookup table for `encodeByLookup8` from the arithmetic encoder. */
export function nearestEvenLookupTable(rule: EncodeRule): Uint8Array {
  const representatives = new Int32Array(LOOKUP_TABLE_SIZE);
  for (let top = 0; top < 1 << 16; top++) {
    representatives[2 * top] = top << 16; // low 16 bits zero
    representatives[2 * top + 1] = (top << 16) | 1; // low 16 bits not zero
  }
  const table = new Uint8Array(LOOKUP_TABLE_SIZE);
  encodeNearestEven8(representatives, table, rule);
  return table;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** f32 bit patterns → 8-bit codes through a table from `nearestEvenLookupTable`. */
export function encodeByLookup8(bits: Int32Array, out: Uint8Array, table: Uint8Array): void {
  const n = bits.length;
  // Codes are written four at a time as one 32-bit word where the output is aligned for it.
  const head = LITTLE_ENDIAN ? Math.min(n, (4 - (out.byteOffset & 3)) & 3) : n;
  const words = (n - head) >>> 2;
  for (let i = 0; i < head; i++) {
    const u = bits[i]!;
    out[i] = table[((u >>> 15) & 0x1fffe) | (((u & 0xffff) + 0xffff) >>> 16)]!;
  }
  const packed = new Int32Array(out.buffer, out.byteOffset + head, words);
  for (let w = 0; w < words; w++) {
    const i = head + (w << 2);
    const a = bits[i]!;
    const b = bits[i + 1]!;
    const c = bits[i + 2]!;
    const d = bits[i + 3]!;
    packed[w] =
      table[((a >>> 15) & 0x1fffe) | (((a & 0xffff) + 0xffff) >>> 16)]! |
      (table[((b >>> 15) & 0x1fffe) | (((b & 0xffff) + 0xffff) >>> 16)]! << 8) |
      (table[((c >>> 15) & 0x1fffe) | (((c & 0xffff) + 0xffff) >>> 16)]! << 16) |
      (table[((d >>> 15) & 0x1fffe) | (((d & 0xffff) + 0xffff) >>> 16)]! << 24);
  }
  for (let i = head + (words << 2); i < n; i++) {
    const u = bits[i]!;
    out[i] = table[((u >>> 15) & 0x1fffe) | (((u & 0xffff) + 0xffff) >>> 16)]!;
  }
}

/** The bits of a Float32Array as signed 32-bit integers (keeps the loops in int32 arithmetic). */
export function bitsOf(values: Float32Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length);
}
