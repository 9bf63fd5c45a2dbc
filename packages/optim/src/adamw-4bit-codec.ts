/**
 * AdamW4bit's codecs (thu-ml's low-bit optimizers, Li et al. 2023), two 4-bit codes per byte:
 * - first moment (default): blocks of 128 scaled by their absmax, signed dynamic-exponent map (16 codes).
 * - second moment: rank-1 normalisation, s_ij = min(max_j |v_ij|, max_i |v_ij|) (for N-D: the min
 *   over dimensions of the max over all the others), then the linear map without zero
 *   (1/16 … 1), so v never decodes to 0 where its scale is positive.
 * - first moment with `firstMoment: 'rank1-linear'`: the same rank-1 normalisation on |m| with the
 *   signed linear map linspace(−1, 1, 16).
 * Rounding is lpmm's `real-nearest` bit for bit: x / scale divided in float32, then the nearest code
 * by its float32 midpoints (`nearestCodeByMidpoint`). Element 2i sits in the low nibble of byte i,
 * element 2i+1 in the high nibble.
 *
 * HOST-SIDE: this whole module runs on the host on arrays read with `dataSync()` (octet has no
 * 4-bit kernel yet); the packed layout is what a fused kernel would keep.
 */
import { DYNAMIC_MAP_SIGNED_4BIT, LINEAR_MAP_4BIT, nearestCodeByMidpoint } from './codebooks.js';
import type { HostCodec } from './compressed-adamw.js';

export function pack4bit(codes: Uint8Array): Uint8Array {
  const packed = new Uint8Array(Math.ceil(codes.length / 2));
  for (let i = 0; i < codes.length; i++) packed[i >> 1]! |= (codes[i]! & 15) << ((i & 1) * 4);
  return packed;
}

export function unpack4bit(packed: Uint8Array, length: number): Uint8Array {
  const codes = new Uint8Array(length);
  for (let i = 0; i < length; i++) codes[i] = (packed[i >> 1]! >> ((i & 1) * 4)) & 15;
  return codes;
}

/** Block-wise absmax 4-bit codes of `values` in the signed dynamic-exponent map (unpacked). */
export function quantizeBlockwise4bit(
  values: Float32Array,
  blockSize: number,
  map = DYNAMIC_MAP_SIGNED_4BIT,
): { codes: Uint8Array; absmax: Float32Array } {
  const n = values.length;
  const codes = new Uint8Array(n);
  const absmax = new Float32Array(Math.ceil(n / blockSize));
  for (let b = 0; b < absmax.length; b++) {
    const start = b * blockSize;
    const end = Math.min(n, start + blockSize);
    let max = 0;
    for (let i = start; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
    absmax[b] = max;
    // float32 division, as lpmm's `qx.div(max1)` (a block of zeros stays 0).
    for (let i = start; i < end; i++) codes[i] = nearestCodeByMidpoint(map, max > 0 ? Math.fround(values[i]! / max) : 0);
  }
  return { codes, absmax };
}

export function dequantizeBlockwise4bit(
  codes: Uint8Array,
  absmax: Float32Array,
  blockSize: number,
  map = DYNAMIC_MAP_SIGNED_4BIT,
): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = map[codes[i]!]! * absmax[Math.floor(i / blockSize)]!;
  return out;
}

/** Per dimension d, the max of |x| over all other dimensions (a vector of length shape[d]). */
export function rank1Statistics(values: Float32Array, shape: readonly number[]): Float32Array[] {
  const maxes = shape.map((d) => new Float32Array(d));
  if (shape.length === 2) {
    const [rows, cols] = shape as [number, number];
    const [rowMax, colMax] = maxes as [Float32Array, Float32Array];
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let c = 0; c < cols; c++) {
        const a = Math.abs(values[r * cols + c]!);
        if (a > m) m = a;
        if (a > colMax[c]!) colMax[c] = a;
      }
      rowMax[r] = m;
    }
    return maxes;
  }
  const strides = stridesOf(shape);
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    for (let d = 0; d < shape.length; d++) {
      const index = Math.floor(i / strides[d]!) % shape[d]!;
      if (a > maxes[d]![index]!) maxes[d]![index] = a;
    }
  }
  return maxes;
}

/** s_i = min over d of maxes[d][index_d(i)]. */
export function rank1Scale(maxes: Float32Array[], shape: readonly number[], i: number, strides = stridesOf(shape)): number {
  let s = Number.POSITIVE_INFINITY;
  for (let d = 0; d < shape.length; d++) s = Math.min(s, maxes[d]![Math.floor(i / strides[d]!) % shape[d]!]!);
  return s;
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  return strides;
}

/** The rank-1 scale of every element (min over dimensions of the per-dimension maxima). */
function rank1Scales(maxes: Float32Array[], shape: readonly number[], length: number): Float32Array {
  const scales = new Float32Array(length);
  if (shape.length === 2) {
    // The common case, without index arithmetic per element.
    const [rows, cols] = shape as [number, number];
    const [rowMax, colMax] = maxes as [Float32Array, Float32Array];
    for (let r = 0; r < rows; r++) {
      const m = rowMax[r]!;
      for (let c = 0; c < cols; c++) scales[r * cols + c] = Math.min(m, colMax[c]!);
    }
    return scales;
  }
  const strides = stridesOf(shape);
  for (let i = 0; i < length; i++) scales[i] = rank1Scale(maxes, shape, i, strides);
  return scales;
}

export function quantizeRank1(
  values: Float32Array,
  shape: readonly number[],
  map = LINEAR_MAP_4BIT,
): { codes: Uint8Array; maxes: Float32Array[] } {
  const maxes = rank1Statistics(values, shape);
  const scales = rank1Scales(maxes, shape, values.length);
  const codes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = scales[i]!;
    codes[i] = nearestCodeByMidpoint(map, s > 0 ? Math.fround(values[i]! / s) : 0);
  }
  return { codes, maxes };
}

export function dequantizeRank1(codes: Uint8Array, maxes: Float32Array[], shape: readonly number[], map = LINEAR_MAP_4BIT): Float32Array {
  const scales = rank1Scales(maxes, shape, codes.length);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = map[codes[i]!]! * scales[i]!;
  return out;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** First moment: `codes` (packed uint8, ⌈n/2⌉ bytes) and `absmax` (f32 per block). */
export function blockwise4bitCodec(blockSize: number): HostCodec {
  return {
    layout: (shape) => ({
      codes: { dtype: 'uint8', shape: [Math.ceil(sizeOf(shape) / 2)] },
      absmax: { dtype: 'float32', shape: [Math.ceil(sizeOf(shape) / blockSize)] },
    }),
    decode: (state, shape) =>
      dequantizeBlockwise4bit(unpack4bit(state.codes as Uint8Array, sizeOf(shape)), state.absmax as Float32Array, blockSize),
    encode: (values) => {
      const { codes, absmax } = quantizeBlockwise4bit(values, blockSize);
      return { codes: pack4bit(codes), absmax };
    },
  };
}

/**
 * Rank-1 normalised codes on `map`: `codes` (packed uint8) and `max_dim{d}` (f32, one vector per
 * dimension). The second moment's codec on the linear map without zero (`RANK1_4BIT_CODEC`).
 */
export function rank1Codec(map: Float32Array): HostCodec {
  return {
    layout: (shape) => ({
      codes: { dtype: 'uint8', shape: [Math.ceil(sizeOf(shape) / 2)] },
      ...Object.fromEntries(shape.map((d, i) => [`max_dim${i}`, { dtype: 'float32' as const, shape: [d] }])),
    }),
    decode: (state, shape) =>
      dequantizeRank1(
        unpack4bit(state.codes as Uint8Array, sizeOf(shape)),
        shape.map((_, i) => state[`max_dim${i}`] as Float32Array),
        shape,
        map,
      ),
    encode: (values, shape) => {
      const { codes, maxes } = quantizeRank1(values, shape, map);
      return { codes: pack4bit(codes), ...Object.fromEntries(maxes.map((m, i) => [`max_dim${i}`, m])) };
    },
  };
}

/** Second moment: rank-1 normalisation on the linear map without zero. */
export const RANK1_4BIT_CODEC: HostCodec = rank1Codec(LINEAR_MAP_4BIT);
