import { GeluGrad } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';

const C = Math.sqrt(2 / Math.PI);

export const geluGradConfig = defineCpuKernel(GeluGrad, ({ inputs: { dy, x } }) => {
  const dys = values(dy);
  const xs = values(x);
  const out = allocateUninitialized(Float32Array, xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    const t = Math.tanh(C * (v + 0.044715 * v * v * v));
    out[i] = dys[i]! * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * 0.044715 * v * v));
  }
  return output(out, x.shape);
});
