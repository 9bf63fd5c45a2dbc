import type { TensorInfo } from '@octet/core';

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
