import { Cast } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

export const castConfig = defineCpuKernel(Cast, ({ inputs: { x }, attrs: { dtype } }) => {
  const xs = values<Float32Array | Int32Array | Uint8Array>(x);
  return output(dtype === 'int32' ? Int32Array.from(xs, Math.trunc) : Float32Array.from(xs), x.shape, dtype);
});
