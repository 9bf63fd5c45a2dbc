import { Slice, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { movementGrid, stridesOf } from '../shaders/movement.wgsl.js';
import { sliceProgram } from './Slice.wgsl.js';

export const sliceConfig = defineWebGpuKernel(Slice, ({ inputs: { x }, attrs: { begin, size }, backend }) => {
  const strides = stridesOf(x.shape);
  const n = sizeOf(size);
  return backend.run({
    program: sliceProgram(size.length, x.dtype),
    inputs: [x],
    output: { shape: [...size], dtype: x.dtype },
    uniforms: [n, ...size.flatMap((s, d) => [s, begin[d]!, strides[d]!])],
    workgroups: movementGrid(x.dtype, n),
  });
});
