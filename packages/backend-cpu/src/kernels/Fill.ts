import { Fill } from '@octet/core';
import { defineCpuKernel, output } from '../base.js';

export const fillConfig = defineCpuKernel(Fill, ({ attrs: { shape, value, dtype } }) => {
  const size = shape.reduce((p, d) => p * d, 1);
  const out = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  out.fill(value);
  return output(out, shape, dtype);
});
