import { OneHot, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { oneHotProgram } from './OneHot.wgsl.js';

export const oneHotConfig = defineWebGpuKernel(OneHot, ({ inputs: { indices }, attrs: { depth }, backend }) => {
  const shape = [...indices.shape, depth];
  const n = sizeOf(shape);
  return backend.run({
    program: oneHotProgram(),
    inputs: [indices],
    output: { shape, dtype: 'float32' },
    uniforms: [n, depth],
    workgroups: elementwiseGrid(n),
  });
});
