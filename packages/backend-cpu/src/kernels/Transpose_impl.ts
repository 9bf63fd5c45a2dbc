import { allocateUninitialized, type TypedArrayKind } from '../base.js';

/** Pure transpose of a row-major array; shared by Transpose, Reduce and the matmul packing. */
export function transposeValues<T extends Float32Array | Int32Array | Uint8Array>(
  xs: T,
  shape: readonly number[],
  perm: readonly number[],
): { values: T; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const out = allocateUninitialized(xs.constructor as TypedArrayKind<T>, xs.length);
  const inStrides = new Array<number>(rank);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = stride;
    stride *= shape[i]!;
  }
  // Stride in the input for a step along each output axis.
  const steps = perm.map((p) => inStrides[p]!);
  const inner = outShape[rank - 1] ?? 1;
  const innerStep = steps[rank - 1] ?? 1;
  const index = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let o = 0; o < xs.length; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = xs[offset + j * innerStep]!;
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]!++;
      offset += steps[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      offset -= steps[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
  return { values: out, shape: outShape };
}
