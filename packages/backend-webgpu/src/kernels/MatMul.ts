import type { KernelConfig, MatMulAttrs, MatMulInputs } from '@octet/core';
import { matMulGeometry } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { matMulUniforms, matMulWorkgroups } from '../shaders/tiled-matmul.wgsl.js';
import { matMulProgram } from './MatMul.wgsl.js';

export const matMulConfig: KernelConfig = {
  kernelName: 'MatMul',
  kernelFunc: ({
    inputs: { a, b },
    attrs: { transposeA, transposeB },
    backend,
  }: {
    inputs: MatMulInputs;
    attrs: MatMulAttrs;
    backend: WebGpuBackend;
  }) => {
    const g = matMulGeometry(a, b, transposeA, transposeB);
    return backend.run({
      program: matMulProgram(transposeA, transposeB),
      inputs: [a, b],
      output: { shape: g.outShape, dtype: 'float32' },
      uniforms: matMulUniforms(g),
      workgroups: matMulWorkgroups(g),
    });
  },
};
