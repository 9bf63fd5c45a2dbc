import { OneHot } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

export const oneHotConfig = defineCpuKernel(OneHot, ({ inputs: { indices }, attrs: { depth } }) => {
  const ids = values<Int32Array>(indices);
  const out = new Float32Array(ids.length * depth);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id >= 0 && id < depth) out[i * depth + id] = 1;
  }
  return output(out, [...indices.shape, depth]);
});
