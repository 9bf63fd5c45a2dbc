import { RoundTo, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { roundToProgram } from './RoundTo.wgsl.js';

export const roundToConfig = defineWebGpuKernel(RoundTo, ({ inputs: { x }, attrs: { format }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: roundToProgram(format),
    inputs: [x],
    output: { shape: x.shape, dtype: 'float32' },
    uniforms: [n],
    workgroups: elementwiseGrid(n),
  });
});
