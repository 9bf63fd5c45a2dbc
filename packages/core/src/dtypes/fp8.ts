/**
 * FP8 codecs: f32 ⇄ e4m3fn, e5m2, e4m3fnuz, e5m2fnuz, bit-exact with ONNX Runtime's `Cast`
 * (opset 19+) in the saturating mode.
 *
 * Saturating (the default, what training uses): round to nearest even; finite overflow and
 * ±inf become ±max in all four formats; NaN stays NaN; -0 stays -0 except in the fnuz
 * formats, which have no -0 (it becomes 0).
 * Non-saturating: round to nearest even on the grid extended one step past max; landing on
 * that step is an overflow, which gives NaN (e4m3fn, fnuz) or ±inf (e5m2), as PyTorch's
 * `.to(float8)` and ml_dtypes do. ±inf gives NaN in the formats without infinities.
 * Stochastic rounding: rounds up with probability equal to the value's fractional position
 * between its two neighbouring codes, from a seeded generator (same seed, same bytes).
 */
import { check } from '../errors.js';
import {
  checkFloat32Array,
  checkFp8Format,
  checkOutput,
  checkRounding,
  checkSeed,
  FP8_FORMATS,
  type Fp8Format,
  type Rounding,
} from './formats.js';
import { bitsOf, type EncodeRule, encodeByLookup8, encodeStochastic8, MINIFLOAT_SLOT, nearestEvenLookupTable } from './minifloat.js';
import { CHUNK_LENGTH, freshSeed, RoundingRandom } from './rounding-random.js';

export interface Fp8EncodeOptions {
  /** Overflow and ±inf become ±max (true, the default) or NaN / ±inf (false). */
  saturate?: boolean;
  /** 'nearest-even' (default) or 'stochastic'. */
  rounding?: Rounding;
  /** Seed of the stochastic rounding generator, an integer in [0, 2^32). Random when omitted. */
  seed?: number;
}

/** The two encode rules of each format: saturating and not. */
const ENCODE_RULES = new Map<Fp8Format, { saturating: EncodeRule; nonSaturating: EncodeRule }>(
  (Object.keys(FP8_FORMATS) as Fp8Format[]).map((format) => {
    const info = FP8_FORMATS[format];
    const rule = (overflowCode: number): EncodeRule => ({
      slot: MINIFLOAT_SLOT[format],
      maxCode: info.maxCode,
      overflowCode,
      nanCode: info.nanCode,
      negativeZeroMask: info.hasNegativeZero ? 0x80 : 0,
    });
    return [format, { saturating: rule(info.maxCode), nonSaturating: rule(info.infinityCode ?? info.nanCode) }];
  }),
);

/** Round-to-nearest-even lookup tables (128 KiB each), built on first use. */
const lookupTables = new Map<EncodeRule, Uint8Array>();

function lookupTableFor(rule: EncodeRule): Uint8Array {
  let table = lookupTables.get(rule);
  if (table === undefined) {
    table = nearestEvenLookupTable(rule);
    lookupTables.set(rule, table);
  }
  return table;
}

/*
 * The value of every code of each format, as f32 bit patterns (copying bits rather than
 * floats keeps the sign of NaN codes). Each table is its own module-level constant of exactly
 * 256 entries: V8 then knows a byte index is in bounds and the decode loop runs ~1.5× faster
 * than through a table passed as an argument.
 */
const E4M3FN_BITS = decodedBits('e4m3fn');
const E5M2_BITS = decodedBits('e5m2');
const E4M3FNUZ_BITS = decodedBits('e4m3fnuz');
const E5M2FNUZ_BITS = decodedBits('e5m2fnuz');

/** The value of every code, computed from the format's definition. */
function decodedBits(format: Fp8Format): Uint32Array {
  const info = FP8_FORMATS[format];
  const values = new Float32Array(256);
  const bits = new Uint32Array(values.buffer);
  const mantissaCount = 1 << info.mantissaBits;
  const exponentMask = (1 << info.exponentBits) - 1;
  for (let code = 0; code < 256; code++) {
    const negative = code >= 0x80;
    const exponentField = (code >>> info.mantissaBits) & exponentMask;
    const mantissa = code & (mantissaCount - 1);
    const magnitude =
      exponentField === 0 ? mantissa * info.minSubnormal : (1 + mantissa / mantissaCount) * 2 ** (exponentField - info.bias);
    values[code] = negative ? -magnitude : magnitude;
    if (isNaNCode(format, code)) bits[code] = negative ? 0xffc00000 : 0x7fc00000;
    else if (info.infinityCode !== null && (code & 0x7f) === info.infinityCode) {
      values[code] = negative ? -Infinity : Infinity;
    }
  }
  return bits;
}

/** Whether `code` is a NaN in `format`. */
export function isNaNCode(format: Fp8Format, code: number): boolean {
  switch (format) {
    case 'e4m3fn':
      return (code & 0x7f) === 0x7f;
    case 'e5m2':
      return (code & 0x7f) > 0x7c;
    default:
      return code === 0x80;
  }
}

/**
 * f32 → FP8 codes. `out`, when given, must be a Uint8Array of the same length (it is filled
 * and returned; useful on hot paths).
 */
export function encode(values: Float32Array, format: Fp8Format, options: Fp8EncodeOptions = {}, out?: Uint8Array): Uint8Array {
  return encodeScaled(values, 1, format, options, out);
}

// Scaled values are staged through this buffer a chunk at a time, so they stay in cache.
const stagedValues = new Float32Array(CHUNK_LENGTH);
const stagedBits = bitsOf(stagedValues);
const randomBits = new Uint32Array(CHUNK_LENGTH);

/**
 * f32 → FP8 codes of `values × scale`, the product rounded to f32 first (as a fused
 * multiply-then-cast kernel does): the quantize step of TransformerEngine-style scaling,
 * without a temporary array. `scale` is rounded to f32 too.
 */
export function encodeScaled(
  values: Float32Array,
  scale: number,
  format: Fp8Format,
  options: Fp8EncodeOptions = {},
  out?: Uint8Array,
): Uint8Array {
  checkFloat32Array(values, 'values');
  check(typeof scale === 'number', 'scale', scale, 'a number');
  checkFp8Format(format);
  const { saturate = true, rounding = 'nearest-even', seed } = options;
  check(typeof saturate === 'boolean', 'options.saturate', saturate, 'true or false');
  checkRounding(rounding, 'options.rounding');
  if (seed !== undefined) checkSeed(seed, 'options.seed');
  const codes = checkOutput(out, Uint8Array, values.length);
  const rules = ENCODE_RULES.get(format)!;
  const rule = saturate ? rules.saturating : rules.nonSaturating;
  const f32Scale = Math.fround(scale);
  const bits = bitsOf(values);
  const n = values.length;

  const lookupTable = rounding === 'nearest-even' ? lookupTableFor(rule) : undefined;
  if (lookupTable !== undefined && f32Scale === 1) {
    encodeByLookup8(bits, codes, lookupTable);
    return codes;
  }
  const random = rounding === 'stochastic' ? new RoundingRandom(seed ?? freshSeed()) : undefined;
  for (let start = 0; start < n; start += CHUNK_LENGTH) {
    const count = Math.min(CHUNK_LENGTH, n - start);
    let chunkBits = bits.subarray(start, start + count);
    if (f32Scale !== 1) {
      for (let i = 0; i < count; i++) stagedValues[i] = values[start + i]! * f32Scale;
      chunkBits = stagedBits.subarray(0, count);
    }
    const chunkCodes = codes.subarray(start, start + count);
    if (lookupTable !== undefined) encodeByLookup8(chunkBits, chunkCodes, lookupTable);
    else encodeStochastic8(chunkBits, chunkCodes, rule, random!.fill(randomBits).subarray(0, count));
  }
  return codes;
}

/**
 * FP8 codes → f32, by table lookup (one code or, for long inputs, two codes at a time).
 * `out`, when given, must be a Float32Array of the same length.
 */
export function decode(bytes: Uint8Array, format: Fp8Format, out?: Float32Array): Float32Array {
  check(bytes instanceof Uint8Array, 'bytes', bytes, 'a Uint8Array');
  checkFp8Format(format);
  const values = checkOutput(out, Float32Array, bytes.length);
  const pairsAligned = (bytes.byteOffset & 1) === 0 && (values.byteOffset & 7) === 0;
  if (bytes.length >= PAIR_DECODE_MIN_LENGTH && LITTLE_ENDIAN && pairsAligned) {
    decodeInPairs(bytes, values, pairTableFor(format));
    return values;
  }
  const outBits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  if (format === 'e4m3fn') decodeE4m3fn(bytes, outBits);
  else if (format === 'e5m2') decodeE5m2(bytes, outBits);
  else if (format === 'e4m3fnuz') decodeE4m3fnuz(bytes, outBits);
  else decodeE5m2fnuz(bytes, outBits);
  return values;
}

/*
 * Long inputs are decoded two codes at a time: a table of all 65,536 code pairs holds both
 * f32 bit patterns side by side, read and written as one f64 (~1.3× faster than one code at a
 * time). The copy keeps every bit because no entry is a NaN as an f64: its high half is at most
 * a quiet f32 NaN (0x7FC00000), whose top 12 bits are not all ones. The table takes 512 KiB per
 * format, so short inputs keep to the 1 KiB tables.
 */
const PAIR_DECODE_MIN_LENGTH = 1 << 16;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const pairTables = new Map<Fp8Format, Float64Array>();

function pairTableFor(format: Fp8Format): Float64Array {
  let table = pairTables.get(format);
  if (table === undefined) {
    const single = decodedBits(format);
    table = new Float64Array(65536);
    const halves = new Uint32Array(table.buffer);
    for (let pair = 0; pair < 65536; pair++) {
      halves[2 * pair] = single[pair & 0xff]!; // little-endian: the first byte is the low half
      halves[2 * pair + 1] = single[pair >>> 8]!;
    }
    pairTables.set(format, table);
  }
  return table;
}

function decodeInPairs(bytes: Uint8Array, values: Float32Array, table: Float64Array): void {
  const pairs = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 1);
  const outPairs = new Float64Array(values.buffer, values.byteOffset, pairs.length);
  for (let i = 0; i < pairs.length; i++) outPairs[i] = table[pairs[i]!]!;
  if (bytes.length & 1) {
    const last = bytes.length - 1;
    const lastBits = new Uint32Array(table.buffer)[2 * bytes[last]!]!; // the pair (code, 0) starts with code's value
    new Uint32Array(values.buffer, values.byteOffset + 4 * last, 1)[0] = lastBits;
  }
}

// One loop per format, each reading its own constant table (see E4M3FN_BITS).
function decodeE4m3fn(bytes: Uint8Array, outBits: Uint32Array): void {
  for (let i = 0; i < bytes.length; i++) outBits[i] = E4M3FN_BITS[bytes[i]!]!;
}
function decodeE5m2(bytes: Uint8Array, outBits: Uint32Array): void {
  for (let i = 0; i < bytes.length; i++) outBits[i] = E5M2_BITS[bytes[i]!]!;
}
function decodeE4m3fnuz(bytes: Uint8Array, outBits: Uint32Array): void {
  for (let i = 0; i < bytes.length; i++) outBits[i] = E4M3FNUZ_BITS[bytes[i]!]!;
}
function decodeE5m2fnuz(bytes: Uint8Array, outBits: Uint32Array): void {
  for (let i = 0; i < bytes.length; i++) outBits[i] = E5M2FNUZ_BITS[bytes[i]!]!;
}

/**
 * Decodes `bytes` and multiplies by `scaleInv` (rounded to f32): the dequantize step, without
 * a temporary array.
 */
export function decodeScaled(bytes: Uint8Array, scaleInv: number, format: Fp8Format, out?: Float32Array): Float32Array {
  check(typeof scaleInv === 'number', 'scaleInv', scaleInv, 'a number');
  const values = decode(bytes, format, out);
  const f32ScaleInv = Math.fround(scaleInv);
  if (f32ScaleInv !== 1) for (let i = 0; i < values.length; i++) values[i] = values[i]! * f32ScaleInv;
  return values;
}

/** A copy of the 256 values of `format` (index = code), e.g. for a kernel's lookup table. */
export function decodeTable(format: Fp8Format): Float32Array {
  checkFp8Format(format);
  return new Float32Array(decodedBits(format).buffer);
}

/**
 * The round-to-nearest-even table (128 KiB) that `encode` casts through, e.g. for a kernel's own
 * copy: the code of f32 bits u is table[((u >>> 15) & 0x1fffe) | (u & 0xffff ? 1 : 0)] (the top
 * 16 bits, then whether any of the low 16 is set).
 */
export function encodeTable(format: Fp8Format, { saturate = true }: { saturate?: boolean } = {}): Uint8Array {
  checkFp8Format(format);
  check(typeof saturate === 'boolean', 'options.saturate', saturate, 'true or false');
  const rules = ENCODE_RULES.get(format)!;
  return lookupTableFor(saturate ? rules.saturating : rules.nonSaturating).slice();
}

/** Snaps f32 values to the nearest FP8 value, keeping f32 storage: decode(encode(values)). */
export function roundToFormat(values: Float32Array, format: Fp8Format, options: Fp8EncodeOptions = {}, out?: Float32Array): Float32Array {
  const codes = encode(values, format, options);
  return decode(codes, format, out);
}
