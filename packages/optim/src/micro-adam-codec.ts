/**
 * MicroAdam's codec (Modoranu et al. 2024): per-block top-k selection, the ring buffer of
 * (indices, values) and the 4-bit error feedback with per-block min/max.
 *
 * HOST-SIDE: all of it runs on the host on arrays read back (`readHost`: `dataSync()`, or fetched
 * first by `applyGradientsAsync`; octet has no top-k or sparse-window kernels yet): selecting the
 * top-k, quantizing the error, and expanding the window into dense M = Σ β1^age·V and
 * S = Σ β2^age·V². The parameter update itself runs as kernels.
 * Byte layout of the state (what a fused kernel would keep): indices are little-endian uint16
 * offsets inside their top-k block, values bf16 (or f32), the error two 4-bit codes per byte.
 */
import { bf16 } from '@octet/core';

/**
 * Offsets (inside the block) of the k largest |a[start + j]|, j < length, in increasing order;
 * ties at the threshold go to the lowest offsets, so the choice is deterministic.
 */
export function topKOffsets(a: Float32Array, start: number, length: number, k: number, out: Uint16Array, outStart: number): void {
  if (k >= length) {
    for (let j = 0; j < length; j++) out[outStart + j] = j;
    return;
  }
  const magnitudes = new Float32Array(length);
  for (let j = 0; j < length; j++) magnitudes[j] = Math.abs(a[start + j]!);
  const threshold = kthLargest(magnitudes.slice(), k);
  let above = 0;
  for (let j = 0; j < length; j++) if (magnitudes[j]! > threshold) above++;
  let ties = k - above;
  let n = 0;
  for (let j = 0; j < length && n < k; j++) {
    const m = magnitudes[j]!;
    if (m > threshold || (m === threshold && ties-- > 0)) out[outStart + n++] = j;
  }
}

/** The k-th largest value (1-based) of `values`, which it reorders (Hoare's quickselect). */
function kthLargest(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[target]!;
}

/** Asymmetric 4-bit codes of `values` per block: code = round((x − min)/(max − min)·15). */
export function quantizeError4bit(values: Float32Array, blockSize: number): { codes: Uint8Array; min: Float32Array; max: Float32Array } {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const codes = new Uint8Array(Math.ceil(n / 2));
  const min = new Float32Array(blocks);
  const max = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(n, start + blockSize);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = start; i < end; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
    min[b] = lo;
    max[b] = hi;
    const step = (max[b]! - min[b]!) / 15;
    for (let i = start; i < end; i++) {
      const code = step > 0 ? Math.min(15, Math.max(0, Math.round((values[i]! - min[b]!) / step))) : 0;
      codes[i >> 1]! |= code << ((i & 1) * 4);
    }
  }
  return { codes, min, max };
}

export function dequantizeError4bit(
  codes: Uint8Array,
  min: Float32Array,
  max: Float32Array,
  blockSize: number,
  length: number,
): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const b = Math.floor(i / blockSize);
    const code = (codes[i >> 1]! >> ((i & 1) * 4)) & 15;
    out[i] = min[b]! + (code * (max[b]! - min[b]!)) / 15;
  }
  return out;
}

/** Rounds `values` to bf16 and returns (codes as little-endian byte pairs, the rounded values). */
export function toBf16Bytes(values: Float32Array): { bytes: Uint8Array; rounded: Float32Array } {
  const codes = bf16.encode(values);
  return { bytes: new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength), rounded: bf16.decode(codes) };
}

export function fromBf16Bytes(bytes: Uint8Array): Float32Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return bf16.decode(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2));
}

/** uint16 offsets ⇄ little-endian byte pairs (the backend has no 16-bit integer dtype). */
export const uint16ToBytes = (offsets: Uint16Array): Uint8Array => new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.byteLength);
export function bytesToUint16(bytes: Uint8Array): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/** Top-k layout of a tensor: blocks of `blockSize` and k per block. */
export interface TopKLayout {
  blockSize: number;
  /** k of each block. */
  ks: number[];
  /** Offset of each block's entries in a window row. */
  rowOffsets: number[];
  /** Entries per window row (Σ k). */
  k: number;
}

export function topKLayout(size: number, blockSize: number, density: number): TopKLayout {
  const ks: number[] = [];
  const rowOffsets: number[] = [];
  let k = 0;
  for (let start = 0; start < size; start += blockSize) {
    const length = Math.min(blockSize, size - start);
    const kb = Math.min(length, Math.max(1, Math.ceil(length * density)));
    rowOffsets.push(k);
    ks.push(kb);
    k += kb;
  }
  return { blockSize, ks, rowOffsets, k };
}

/** Selects the top-k of `a` per block: offsets into a row of the window, and the global indices. */
export function selectTopK(a: Float32Array, layout: TopKLayout): { offsets: Uint16Array; indices: Int32Array } {
  const offsets = new Uint16Array(layout.k);
  const indices = new Int32Array(layout.k);
  layout.ks.forEach((kb, b) => {
    const start = b * layout.blockSize;
    const length = Math.min(layout.blockSize, a.length - start);
    const at = layout.rowOffsets[b]!;
    topKOffsets(a, start, length, kb, offsets, at);
    for (let j = 0; j < kb; j++) indices[at + j] = start + offsets[at + j]!;
  });
  return { offsets, indices };
}

/** Global indices of a window row from its in-block offsets. */
export function rowIndices(offsets: Uint16Array, layout: TopKLayout): Int32Array {
  const indices = new Int32Array(layout.k);
  layout.ks.forEach((kb, b) => {
    const at = layout.rowOffsets[b]!;
    for (let j = 0; j < kb; j++) indices[at + j] = b * layout.blockSize + offsets[at + j]!;
  });
  return indices;
}

/**
 * Dense M = Σ_rows β1^age·V and S = Σ_rows β2^age·V² from the window, whose `rows` have the given
 * ages (−1: not written yet, skipped).
 */
export function windowMoments(
  size: number,
  rows: { indices: Int32Array; values: Float32Array; age: number }[],
  beta1: number,
  beta2: number,
): { m: Float32Array; s: Float32Array } {
  const m = new Float64Array(size);
  const s = new Float64Array(size);
  for (const { indices, values, age } of rows) {
    if (age < 0) continue;
    const w1 = beta1 ** age;
    const w2 = beta2 ** age;
    for (let j = 0; j < indices.length; j++) {
      const v = values[j]!;
      m[indices[j]!]! += w1 * v;
      s[indices[j]!]! += w2 * v * v;
    }
  }
  return { m: Float32Array.from(m), s: Float32Array.from(s) };
}
