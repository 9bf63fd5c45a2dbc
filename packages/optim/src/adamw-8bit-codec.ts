/**
 * AdamW8bit's codec: block-wise 8-bit quantization with a 256-entry map (bitsandbytes).
 *
 * HOST-SIDE: this whole module runs on the host, on arrays read with `dataSync()` (octet has no
 * block-wise map-quantization kernel yet). The state layout (uint8 codes + f32 absmax per block) is
 * what a fused kernel would keep, so one can replace `quantizeBlockwise`/`dequantizeBlockwise`
 * without changing checkpoints.
 */

import { nearestCode } from './codebooks.js';
import type { HostCodec } from './compressed-adamw.js';

/**
 * codes[i] = nearest code of x[i] / absmax(block of i) in `map`; absmax[b] = max |x| over block b
 * (0 for an all-zero block, whose elements take the map's code for 0).
 */
export function quantizeBlockwise(values: Float32Array, map: Float32Array, blockSize: number): { codes: Uint8Array; absmax: Float32Array } {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const codes = new Uint8Array(n);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(n, start + blockSize);
    let max = 0;
    for (let i = start; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
    absmax[b] = max;
    const inverse = max > 0 ? 1 / max : 0;
    for (let i = start; i < end; i++) codes[i] = nearestCode(map, values[i]! * inverse);
  }
  return { codes, absmax };
}

/** values[i] = map[codes[i]] · absmax(block of i). */
export function dequantizeBlockwise(codes: Uint8Array, absmax: Float32Array, map: Float32Array, blockSize: number): Float32Array {
  const out = new Float32Array(codes.length);
  for (let b = 0, start = 0; start < codes.length; b++, start += blockSize) {
    const scale = absmax[b]!;
    const end = Math.min(codes.length, start + blockSize);
    for (let i = start; i < end; i++) out[i] = map[codes[i]!]! * scale;
  }
  return out;
}

/** The codec of one moment: `codes` (uint8, one per element) and `absmax` (f32, one per block). */
export function blockwiseCodec(map: Float32Array, blockSize: number): HostCodec {
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  return {
    layout: (shape) => ({
      codes: { dtype: 'uint8', shape: [size(shape)] },
      absmax: { dtype: 'float32', shape: [Math.ceil(size(shape) / blockSize)] },
    }),
    decode: (state) => dequantizeBlockwise(state.codes as Uint8Array, state.absmax as Float32Array, map, blockSize),
    encode: (values) => quantizeBlockwise(values, map, blockSize),
  };
}
