/**
 * The batched matmul on the WASM kernels, for f32 and FP8 operands alike: out = scale · A · B with
 * MatMul's layout (transposes, a rank-2 operand shared by every batch).
 */
import { fp8, type MatMulGeometry } from '@octet/core';
import { allocateUninitialized } from '../base.js';
import { WASM_FORMAT } from './wasm-exports.js';
import { GEMM_TILE_COLS } from './wasm-heap.js';
import type { WasmKernels } from './wasm-kernels.js';
import type { MatvecOperand } from './wasm-operands.js';
import type { Job } from './wasm-tiles.js';

/** An operand: its values (f32, or FP8 codes in `format`) and the storage object they belong to. */
export interface Operand {
  key: object;
  values: Float32Array | Uint8Array;
  format: 'f32' | 'e4m3fn' | 'e5m2' | 'e4m3fnuz' | 'e5m2fnuz';
}

/** Up to this many rows of A run as matrix × vector (each weight read once per row, decoded in registers). */
export const MATVEC_MAX_ROWS = 4;

/**
 * ...unless the weight fits in this many bytes packed: then its f32 panels stay in cache between
 * calls and the GEMM reads them faster than codes are decoded (e4m3, best of 7 × 200 calls:
 * 1×128×512 in 16.5 µs against 27.9, 4×128×128 in 5.4 against 20.3). Larger weights are read
 * faster as one-byte codes.
 */
const PACKED_MATVEC_BYTES = 2 ** 21;

/** Whether a matmul of this geometry is worth the WASM kernels (see `minWasmWork`). */
export function worthWasm({ batch, M, N, K }: MatMulGeometry, minWork: number): boolean {
  return batch * M * N * K >= minWork;
}

export function wasmMatMul(
  kernels: WasmKernels,
  a: Operand,
  b: Operand,
  g: MatMulGeometry,
  transposeA: boolean,
  transposeB: boolean,
  scale: number,
): Float32Array {
  const { batch, M, N, K, bBatched } = g;
  if (batch * M * N === 0) return new Float32Array(batch * M * N);
  // A weight shared by every batch may stay in the memory between calls, packed (see `WasmKernels.packed`).
  const small = K * Math.ceil(N / 8) * 8 * 4 <= PACKED_MATVEC_BYTES;
  const packed =
    bBatched || (M <= MATVEC_MAX_ROWS && !small) ? null : kernels.packed(b.key, b.values, WASM_FORMAT[b.format], transposeB, N, K);
  return M <= MATVEC_MAX_ROWS && packed === null
    ? matvec(kernels, a, b, g, transposeA, transposeB, scale)
    : gemm(kernels, a, b, g, transposeA, transposeB, scale, packed);
}

function gemm(
  kernels: WasmKernels,
  a: Operand,
  b: Operand,
  g: MatMulGeometry,
  transposeA: boolean,
  transposeB: boolean,
  scale: number,
  packed: number | null,
): Float32Array {
  const { batch, M, N, K, aBatched, bBatched } = g;
  const aPtr = kernels.copyIn(a.values);
  const weight =
    packed !== null
      ? { ptr: packed, owned: false }
      : bBatched
        ? { ptr: kernels.copyIn(b.values), owned: true }
        : kernels.operand(b.key, b.values, WASM_FORMAT[b.format]);
  const bPtr = weight.ptr;
  const cPtr = kernels.alloc(batch * M * N * 4);
  try {
    // Enough tiles for every thread to take several (the machine may be busy), each tall enough to
    // amortize packing B; a job for the caller alone stays in as few tiles as it can (each packs A again).
    let tileRows = 64;
    let tileCols = Math.min(GEMM_TILE_COLS, Math.ceil(N / 8) * 8);
    const wanted = kernels.parallel(batch * M * N * K) ? 4 * kernels.threadCount : 1;
    const count = () => batch * Math.ceil(M / tileRows) * Math.ceil(N / tileCols);
    while (count() < wanted && tileRows > 16) tileRows /= 2;
    while (count() < wanted && tileCols > 64) tileCols = Math.ceil(tileCols / 16) * 8; // whole panels of 8 (packed B needs them)
    const job: Job = {
      kind: 'gemm',
      batch,
      M,
      N,
      K,
      tileRows,
      tileCols,
      a: aPtr,
      aFormat: WASM_FORMAT[a.format],
      aKContig: !transposeA,
      aStride: aBatched ? M * K * a.values.BYTES_PER_ELEMENT : 0,
      b: bPtr,
      bFormat: WASM_FORMAT[b.format],
      bKContig: transposeB,
      bPacked: packed !== null,
      bStride: bBatched ? N * K * b.values.BYTES_PER_ELEMENT : 0,
      c: cPtr,
      scale,
      useTable: true,
    };
    kernels.run(job);
    return kernels.copyOut(cPtr, allocateUninitialized(Float32Array, batch * M * N));
  } finally {
    kernels.free(aPtr);
    if (weight.owned) kernels.free(bPtr);
    kernels.free(cPtr);
  }
}

/** A as f32 rows (M × K per batch): decoded from FP8 and untransposed here, as it is small. */
function rowsOfA(a: Operand, batches: number, M: number, K: number, transposeA: boolean): Float32Array {
  const values = a.format === 'f32' ? (a.values as Float32Array) : fp8.decode(a.values as Uint8Array, a.format);
  if (!transposeA) return values;
  const rows = new Float32Array(values.length);
  for (let p = 0; p < batches; p++) {
    const base = p * M * K;
    for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) rows[base + m * K + k] = values[base + k * M + m]!;
  }
  return rows;
}

/**
 * The SIMD matrix × vector sums FP8 weights in units of 2^(bias − 127) (wasm/MatMul.ts). Scales x
 * in place by a power of two that brings its largest magnitude near 2^116, so every product stays
 * a normal f32 (scaling by powers of two is exact there), and returns the power of two that undoes
 * both, as the factor each sum is multiplied by.
 */
function prescale(x: Float32Array, format: Operand['format'], useTable: boolean): number {
  if (format === 'f32' || useTable) return 1;
  let largest = 0;
  for (const v of x) largest = Math.max(largest, Math.abs(v));
  if (!Number.isFinite(largest)) largest = 1; // NaN or infinity rule the result anyway
  const rebias = 127 - FP8_BIAS[format];
  const exponent = largest === 0 ? 0 : Math.floor(Math.log2(largest));
  const shift = Math.min(rebias + 126, Math.max(rebias - 126, 116 - exponent));
  const factor = 2 ** shift;
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * factor;
  return 2 ** (rebias - shift);
}

const FP8_BIAS = { e4m3fn: 7, e5m2: 15, e4m3fnuz: 8, e5m2fnuz: 16 } as const;

function matvec(
  kernels: WasmKernels,
  a: Operand,
  b: Operand,
  g: MatMulGeometry,
  transposeA: boolean,
  transposeB: boolean,
  scale: number,
): Float32Array {
  const { batch, M, N, K, aBatched, bBatched } = g;
  const format = WASM_FORMAT[b.format];
  // A weight (shared by every batch) may stay in the memory between calls, its subnormal codes
  // rewritten (see `WasmKernels.matvecOperand`); batched operands are copied as they are.
  const weight: MatvecOperand = bBatched
    ? (() => {
        const ptr = kernels.copyIn(b.values);
        return { ptr, useTable: kernels.hasSpecialCodes(ptr, b.values.byteLength, format), fixups: 0, owned: true };
      })()
    : kernels.matvecOperand(b.key, b.values, format, N, K, transposeB);
  let x = rowsOfA(a, aBatched ? batch : 1, M, K, transposeA);
  if (x === a.values && b.format !== 'f32' && !weight.useTable) x = x.slice(); // scaled in place below
  const post = prescale(x, b.format, weight.useTable);
  const xPtr = kernels.copyIn(x);
  const cPtr = kernels.alloc(batch * M * N * 4);
  try {
    // Tiles of whole 16-column groups, several per thread (one tile for the caller alone).
    const tileCols = kernels.parallel(batch * M * N * K) ? Math.max(16, Math.ceil(N / (8 * kernels.threadCount) / 16) * 16) : N;
    kernels.run({
      kind: transposeB ? 'matvecRows' : 'matvecCols',
      batch,
      M,
      N,
      K,
      tileRows: M,
      tileCols,
      a: xPtr,
      aFormat: 0,
      aKContig: true,
      aStride: aBatched ? M * K * 4 : 0,
      b: weight.ptr,
      bFormat: format,
      bKContig: transposeB,
      bStride: bBatched ? N * K * b.values.BYTES_PER_ELEMENT : 0,
      c: cPtr,
      scale,
      post,
      useTable: weight.useTable,
      fixups: weight.fixups,
    });
    return kernels.copyOut(cPtr, allocateUninitialized(Float32Array, batch * M * N));
  } finally {
    kernels.free(xPtr);
    if (weight.owned) {
      kernels.free(weight.ptr);
      if (weight.fixups !== 0) kernels.free(weight.fixups);
    }
    kernels.free(cPtr);
  }
}
