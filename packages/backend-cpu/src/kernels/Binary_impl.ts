import { broadcastStrides } from '@octet/core';

/**
 * Walks a broadcast binary op's output one innermost row at a time: `row(o, ia, sa, ib, sb, n)`
 * fills out[o .. o+n) from a at ia, ia+sa, ... and b at ib, ib+sb, ... (stride 0 on a broadcast axis).
 */
export function forEachBroadcastRow(
  aShape: readonly number[],
  bShape: readonly number[],
  shape: readonly number[],
  row: (o: number, ia: number, sa: number, ib: number, sb: number, n: number) => void,
): void {
  const rank = shape.length;
  const size = shape.reduce((p, d) => p * d, 1);
  const strideA = broadcastStrides(aShape, shape);
  const strideB = broadcastStrides(bShape, shape);
  const inner = shape[rank - 1] ?? 1;
  const innerA = strideA[rank - 1] ?? 0;
  const innerB = strideB[rank - 1] ?? 0;
  const index = new Array<number>(rank).fill(0);
  let offsetA = 0;
  let offsetB = 0;
  for (let o = 0; o < size; o += inner) {
    row(o, offsetA, innerA, offsetB, innerB, inner);
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]!++;
      offsetA += strideA[axis]!;
      offsetB += strideB[axis]!;
      if (index[axis]! < shape[axis]!) break;
      offsetA -= strideA[axis]! * shape[axis]!;
      offsetB -= strideB[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
}
