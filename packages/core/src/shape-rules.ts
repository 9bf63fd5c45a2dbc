/**
 * Output-shape rules of the kernel contract, shared by every backend so they cannot disagree:
 * numpy broadcasting for `Binary`, and the batched geometry of `MatMul` / `ScaledMatMul`.
 */
import type { TensorInfo } from './backend.js';
import { check } from './errors.js';

/** numpy broadcasting of two shapes (aligned at the trailing dimension). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    check(
      da === db || da === 1 || db === 1,
      'broadcast shapes',
      `[${a.join(', ')}] and [${b.join(', ')}]`,
      'equal trailing dimensions or 1',
    );
    out.push(Math.max(da, db));
  }
  return out;
}

/** Element strides of `shape` seen through the broadcast `outShape` (0 along broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = outShape.length - shape.length + i;
    strides[axis] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** Sizes of a batched matmul; a rank-2 operand is shared by every batch. */
export interface MatMulGeometry {
  batch: number;
  M: number;
  N: number;
  K: number;
  aBatched: boolean;
  bBatched: boolean;
  outShape: number[];
}

export function matMulGeometry(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulGeometry {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batchShape = (ra >= rb ? a.shape : b.shape).slice(0, -2);
  const batch = batchShape.reduce((p, d) => p * d, 1);
  return { batch, M, N, K, aBatched: ra > 2, bBatched: rb > 2, outShape: [...batchShape, M, N] };
}
