import { ScatterAdd, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { scatterAddProgram } from './ScatterAdd.wgsl.js';

export const scatterAddConfig = defineWebGpuKernel(ScatterAdd, ({ inputs: { updates, indices }, attrs: { numRows }, backend }) => {
  const width = updates.shape[updates.shape.length - 1]!;
  const n = numRows * width;
  return backend.run({
    program: scatterAddProgram(),
    inputs: [updates, indices],
    output: { shape: [numRows, width], dtype: 'float32' },
    uniforms: [n, width, sizeOf(indices.shape)],
    workgroups: elementwiseGrid(n),
  });
});
