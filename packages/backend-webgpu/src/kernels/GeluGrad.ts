import { GeluGrad, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { geluGradProgram } from './GeluGrad.wgsl.js';

export const geluGradConfig = defineWebGpuKernel(GeluGrad, ({ inputs: { dy, x }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: geluGradProgram(),
    inputs: [dy, x],
    output: { shape: x.shape, dtype: 'float32' },
    uniforms: [n],
    workgroups: elementwiseGrid(n),
  });
});
