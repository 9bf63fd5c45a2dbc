import { Dequantize, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { dequantizeProgram } from './Dequantize.wgsl.js';

export const dequantizeConfig = defineWebGpuKernel(Dequantize, ({ inputs: { q, scale }, attrs: { format }, backend }) => {
  const n = sizeOf(q.shape);
  return backend.run({
    program: dequantizeProgram(format),
    inputs: [q, scale],
    output: { shape: q.shape, dtype: 'float32' },
    uniforms: [n],
    workgroups: elementwiseGrid(n),
  });
});
