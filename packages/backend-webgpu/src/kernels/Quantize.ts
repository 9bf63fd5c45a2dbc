import { Quantize, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { quantizeProgram } from './Quantize.wgsl.js';

export const quantizeConfig = defineWebGpuKernel(Quantize, ({ inputs: { x, scale }, attrs: { format, saturate }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: quantizeProgram(format, saturate),
    inputs: [x, scale],
    output: { shape: x.shape, dtype: 'uint8' },
    uniforms: [n],
    workgroups: elementwiseGrid(Math.ceil(n / 4)),
  });
});
