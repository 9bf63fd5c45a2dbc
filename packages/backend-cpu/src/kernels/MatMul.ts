import { type KernelConfig, type MatMulAttrs, type MatMulInputs, matMulGeometry } from '@octet/core';
import { type CpuBackend, output, values } from '../base.js';
import { matMulValues } from './MatMul_impl.js';

export const matMulConfig: KernelConfig = {
  kernelName: 'MatMul',
  kernelFunc: ({
    inputs: { a, b },
    attrs: { transposeA, transposeB },
    backend,
  }: {
    inputs: MatMulInputs;
    attrs: MatMulAttrs;
    backend: CpuBackend;
  }) => {
    const geometry = matMulGeometry(a, b, transposeA, transposeB);
    return output(matMulValues(values(a), values(b), geometry, transposeA, transposeB, backend.gemmPool), geometry.outShape);
  },
};
