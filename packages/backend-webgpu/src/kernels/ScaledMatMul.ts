import type { KernelConfig, ScaledMatMulAttrs, ScaledMatMulInputs } from '@octet/core';
import { matMulGeometry } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { matMulUniforms, matMulWorkgroups } from '../shaders/tiled-matmul.wgsl.js';
import { scaledMatMulProgram } from './ScaledMatMul.wgsl.js';

export const scaledMatMulConfig: KernelConfig = {
  kernelName: 'ScaledMatMul',
  kernelFunc: ({
    inputs: { a, b, aScale, bScale },
    attrs: { aFormat, bFormat, transposeA, transposeB, alpha },
    backend,
  }: {
    inputs: ScaledMatMulInputs;
    attrs: ScaledMatMulAttrs;
    backend: WebGpuBackend;
  }) => {
    const g = matMulGeometry(a, b, transposeA, transposeB);
    return backend.run({
      program: scaledMatMulProgram(aFormat, bFormat, transposeA, transposeB),
      inputs: [a, b, aScale, bScale],
      output: { shape: g.outShape, dtype: 'float32' },
      uniforms: [...matMulUniforms(g), alpha],
      workgroups: matMulWorkgroups(g),
    });
  },
};
