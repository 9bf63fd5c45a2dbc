import { MatMul, matMulGeometry } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { matMulValues } from './MatMul_impl.js';

export const matMulConfig = defineCpuKernel(MatMul, ({ inputs: { a, b }, attrs: { transposeA, transposeB }, backend }) => {
  const geometry = matMulGeometry(a, b, transposeA, transposeB);
  return output(matMulValues(values(a), values(b), geometry, transposeA, transposeB, backend.gemmPool), geometry.outShape);
});
