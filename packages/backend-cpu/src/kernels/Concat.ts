import { Concat } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, type TypedArrayKind, values } from '../base.js';

/** Rows at least this long are copied with `set` (a view per row costs more than a short loop). */
const SET_FROM = 256;

export const concatConfig = defineCpuKernel(Concat, ({ inputs: { xs }, attrs: { axis } }) => {
  const first = xs[0]!;
  const shape = [...first.shape];
  shape[axis] = xs.reduce((p, t) => p + t.shape[axis]!, 0);
  const outer = first.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const innerOf = (dims: readonly number[]) => dims.slice(axis).reduce((p, d) => p * d, 1);
  const outInner = innerOf(shape);
  const firstValues = values<Float32Array | Int32Array | Uint8Array>(first);
  const out = allocateUninitialized(firstValues.constructor as TypedArrayKind<typeof firstValues>, outer * outInner);
  let column = 0;
  for (const t of xs) {
    const tv = values<Float32Array | Int32Array | Uint8Array>(t);
    const inner = innerOf(t.shape);
    if (inner >= SET_FROM) for (let o = 0; o < outer; o++) out.set(tv.subarray(o * inner, (o + 1) * inner), o * outInner + column);
    else
      for (let o = 0; o < outer; o++)
        for (let j = 0, at = o * outInner + column, from = o * inner; j < inner; j++) out[at + j] = tv[from + j]!;
    column += inner;
  }
  return output(out, shape, first.dtype);
});
