import { sizeOf, Unary } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { unaryProgram } from './Unary.wgsl.js';

export const unaryConfig = defineWebGpuKernel(Unary, ({ inputs: { x }, attrs: { op }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: unaryProgram(op),
    inputs: [x],
    output: { shape: x.shape, dtype: 'float32' },
    uniforms: [n],
    workgroups: elementwiseGrid(n),
  });
});
