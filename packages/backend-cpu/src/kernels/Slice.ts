import { Slice } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, type TypedArrayKind, values } from '../base.js';

export const sliceConfig = defineCpuKernel(Slice, ({ inputs: { x }, attrs: { begin, size } }) => {
  const xs = values<Float32Array | Int32Array | Uint8Array>(x);
  const rank = x.shape.length;
  const total = size.reduce((p, d) => p * d, 1);
  const out = allocateUninitialized(xs.constructor as TypedArrayKind<typeof xs>, total);
  const strides = new Array<number>(rank);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= x.shape[i]!;
  }
  const inner = size[rank - 1] ?? 1;
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < total; o += inner) {
    let offset = 0;
    for (let axis = 0; axis < rank; axis++) offset += (begin[axis]! + index[axis]!) * strides[axis]!;
    out.set(xs.subarray(offset, offset + inner), o);
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++index[axis]! < size[axis]!) break;
      index[axis] = 0;
    }
  }
  return output(out, size, x.dtype);
});
