import { Affine, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { affineProgram } from './Affine.wgsl.js';

export const affineConfig = defineWebGpuKernel(Affine, ({ inputs: { x }, attrs: { scale, shift }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: affineProgram(),
    inputs: [x],
    output: { shape: x.shape, dtype: 'float32' },
    uniforms: [n, scale, shift],
    workgroups: elementwiseGrid(n),
  });
});
