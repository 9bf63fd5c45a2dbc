import { Cast, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { castProgram } from './Cast.wgsl.js';

export const castConfig = defineWebGpuKernel(Cast, ({ inputs: { x }, attrs: { dtype }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: castProgram(x.dtype, dtype),
    inputs: [x],
    output: { shape: x.shape, dtype },
    uniforms: [n],
    workgroups: elementwiseGrid(n),
  });
});
