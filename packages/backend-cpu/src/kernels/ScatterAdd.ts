import { ScatterAdd } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

export const scatterAddConfig = defineCpuKernel(ScatterAdd, ({ inputs: { updates, indices }, attrs: { numRows } }) => {
  const width = updates.shape[updates.shape.length - 1]!;
  const uv = values(updates);
  const ids = values<Int32Array>(indices);
  const out = new Float32Array(numRows * width);
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i]! * width;
    const from = i * width;
    for (let j = 0; j < width; j++) out[row + j]! += uv[from + j]!;
  }
  return output(out, [numRows, width]);
});
