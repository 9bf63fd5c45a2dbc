import { Reduce } from '@octet/core';
import { allocate, defineCpuKernel, output, values } from '../base.js';
import { transposeValues } from './Transpose_impl.js';

export const reduceConfig = defineCpuKernel(Reduce, ({ inputs: { x }, attrs: { op, axes, keepDims } }) => {
  const rank = x.shape.length;
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  // Move the reduced axes last so each output element reduces one contiguous run.
  const perm = [...kept, ...axes];
  let xs = values(x);
  if (perm.some((p, i) => p !== i)) xs = transposeValues(xs, x.shape, perm).values;
  const length = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const count = length === 0 ? 0 : xs.length / length;
  const outCount = kept.reduce((p, a) => p * x.shape[a]!, 1);
  const out = allocate(Float32Array, outCount);
  for (let o = 0; o < count; o++) {
    const start = o * length;
    let acc = op === 'sum' ? 0 : op === 'amax' ? 0 : -Infinity;
    if (op === 'sum') for (let j = 0; j < length; j++) acc += xs[start + j]!;
    else if (op === 'max')
      for (let j = 0; j < length; j++) acc = xs[start + j]! > acc || Number.isNaN(xs[start + j]!) ? xs[start + j]! : acc;
    else
      for (let j = 0; j < length; j++) {
        const v = Math.abs(xs[start + j]!);
        acc = v > acc || Number.isNaN(v) ? v : acc;
      }
    out[o] = acc;
  }
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((a) => x.shape[a]!);
  return output(out, rank === 0 ? [] : shape);
});
