import { Softmax, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { workgroupGrid } from '../program.js';
import { softmaxProgram } from './Softmax.wgsl.js';

export const softmaxConfig = defineWebGpuKernel(Softmax, ({ inputs: { x }, attrs: { causal }, backend }) => {
  const rank = x.shape.length;
  const width = x.shape[rank - 1]!;
  const rows = width === 0 ? 0 : sizeOf(x.shape) / width;
  const queries = causal ? x.shape[rank - 2]! : 1;
  return backend.run({
    program: softmaxProgram(causal),
    inputs: [x],
    output: { shape: x.shape, dtype: 'float32' },
    uniforms: [rows, width, queries, -Infinity],
    workgroups: workgroupGrid(rows),
  });
});
