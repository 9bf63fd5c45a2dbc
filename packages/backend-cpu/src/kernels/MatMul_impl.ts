/**
 * The CPU's blocked matmul. Both operands are packed so the reduction axis is contiguous
 * (A as M×K, B as N×K); a 4×4 register block then does 16 multiply-adds per 8 loads. Sums are
 * accumulated in doubles (JS numbers), which is at least as accurate as the f32 contract.
 */
import type { MatMulGeometry } from '@octet/core';
import { allocate } from '../base.js';
import { transposeValues } from './Transpose_impl.js';

/** c[i·N + j] = Σ_k a[i·K + k] · b[j·K + k], for one batch. */
export function gemmABt(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  M: number,
  N: number,
  K: number,
): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = aOff + i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = bOff + j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + k]!,
          x1 = a[a1 + k]!,
          x2 = a[a2 + k]!,
          x3 = a[a3 + k]!;
        const y0 = b[b0 + k]!,
          y1 = b[b1 + k]!,
          y2 = b[b2 + k]!,
          y3 = b[b3 + k]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      const r0 = cOff + i * N + j;
      const r1 = r0 + N;
      const r2 = r1 + N;
      const r3 = r2 + N;
      c[r0] = c00;
      c[r0 + 1] = c01;
      c[r0 + 2] = c02;
      c[r0 + 3] = c03;
      c[r1] = c10;
      c[r1 + 1] = c11;
      c[r1 + 2] = c12;
      c[r1 + 3] = c13;
      c[r2] = c20;
      c[r2 + 1] = c21;
      c[r2 + 2] = c22;
      c[r2 + 3] = c23;
      c[r3] = c30;
      c[r3 + 1] = c31;
      c[r3 + 2] = c32;
      c[r3 + 3] = c33;
    }
    for (; j < N; j++) {
      const bj = bOff + j * K;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = b[bj + k]!;
        s0 += a[a0 + k]! * y;
        s1 += a[a1 + k]! * y;
        s2 += a[a2 + k]! * y;
        s3 += a[a3 + k]! * y;
      }
      c[cOff + i * N + j] = s0;
      c[cOff + (i + 1) * N + j] = s1;
      c[cOff + (i + 2) * N + j] = s2;
      c[cOff + (i + 3) * N + j] = s3;
    }
  }
  for (; i < M; i++) {
    const ai = aOff + i * K;
    for (let j = 0; j < N; j++) {
      const bj = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ai + k]! * b[bj + k]!;
      c[cOff + i * N + j] = s;
    }
  }
}

/** Packs each batch of an operand so its reduction axis is contiguous (rows × K). */
function packRowsByK(xs: Float32Array, batched: boolean, batch: number, rows: number, K: number, kIsLast: boolean): Float32Array {
  if (kIsLast) return xs;
  const count = batched ? batch : 1;
  return transposeValues(xs, [count, K, rows], [0, 2, 1]).values;
}

/** Splits one batched GEMM across threads; returns null when it runs it on the caller alone. */
export interface ParallelGemm {
  gemm(
    a: Float32Array,
    b: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    aBatched: boolean,
    bBatched: boolean,
  ): Float32Array | null;
}

/** Full f32 batched matmul on host arrays, on `parallel`'s threads when given. */
export function matMulValues(
  av: Float32Array,
  bv: Float32Array,
  g: MatMulGeometry,
  transposeA: boolean,
  transposeB: boolean,
  parallel?: ParallelGemm | null,
): Float32Array {
  const { batch, M, N, K, aBatched, bBatched } = g;
  const a = packRowsByK(av, aBatched, batch, M, K, !transposeA);
  const b = packRowsByK(bv, bBatched, batch, N, K, transposeB);
  const threaded = parallel?.gemm(a, b, batch, M, N, K, aBatched, bBatched);
  if (threaded) return threaded;
  const out = allocate(Float32Array, batch * M * N);
  for (let p = 0; p < batch; p++) {
    gemmABt(a, aBatched ? p * M * K : 0, b, bBatched ? p * N * K : 0, out, p * M * N, M, N, K);
  }
  return out;
}
