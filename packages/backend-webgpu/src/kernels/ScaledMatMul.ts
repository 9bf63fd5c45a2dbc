import { matMulGeometry, ScaledMatMul } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { matMulUniforms, matMulWorkgroups } from '../shaders/tiled-matmul.wgsl.js';
import { scaledMatMulProgram } from './ScaledMatMul.wgsl.js';

export const scaledMatMulConfig = defineWebGpuKernel(
  ScaledMatMul,
  ({ inputs: { a, b, aScale, bScale }, attrs: { aFormat, bFormat, transposeA, transposeB, alpha }, backend }) => {
    const g = matMulGeometry(a, b, transposeA, transposeB);
    return backend.run({
      program: scaledMatMulProgram(aFormat, bFormat, transposeA, transposeB),
      inputs: [a, b, aScale, bScale],
      output: { shape: g.outShape, dtype: 'float32' },
      uniforms: [...matMulUniforms(g), alpha],
      workgroups: matMulWorkgroups(g),
    });
  },
);
