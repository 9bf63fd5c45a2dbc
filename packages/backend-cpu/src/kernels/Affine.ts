import { Affine } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';

export const affineConfig = defineCpuKernel(Affine, ({ inputs: { x }, attrs: { scale, shift } }) => {
  const xs = values(x);
  const out = allocateUninitialized(Float32Array, xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[i]! * scale + shift;
  return output(out, x.shape);
});
