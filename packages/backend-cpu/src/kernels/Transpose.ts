import { Transpose } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { transposeValues } from './Transpose_impl.js';

export const transposeConfig = defineCpuKernel(Transpose, ({ inputs: { x }, attrs: { perm } }) => {
  const result = transposeValues(values<Float32Array | Int32Array | Uint8Array>(x), x.shape, perm);
  return output(result.values, result.shape, x.dtype);
});
