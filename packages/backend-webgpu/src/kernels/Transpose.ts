import { sizeOf, Transpose } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { movementGrid, stridesOf } from '../shaders/movement.wgsl.js';
import { transposeProgram } from './Transpose.wgsl.js';

export const transposeConfig = defineWebGpuKernel(Transpose, ({ inputs: { x }, attrs: { perm }, backend }) => {
  const shape = perm.map((p) => x.shape[p]!);
  const inStrides = stridesOf(x.shape);
  const n = sizeOf(shape);
  return backend.run({
    program: transposeProgram(shape.length, x.dtype),
    inputs: [x],
    output: { shape, dtype: x.dtype },
    uniforms: [n, ...perm.flatMap((p, d) => [shape[d]!, inStrides[p]!])],
    workgroups: movementGrid(x.dtype, n),
  });
});
