import { MatMul, matMulGeometry } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { matMulUniforms, matMulWorkgroups } from '../shaders/tiled-matmul.wgsl.js';
import { matMulProgram } from './MatMul.wgsl.js';

export const matMulConfig = defineWebGpuKernel(MatMul, ({ inputs: { a, b }, attrs: { transposeA, transposeB }, backend }) => {
  const g = matMulGeometry(a, b, transposeA, transposeB);
  return backend.run({
    program: matMulProgram(transposeA, transposeB),
    inputs: [a, b],
    output: { shape: g.outShape, dtype: 'float32' },
    uniforms: matMulUniforms(g),
    workgroups: matMulWorkgroups(g),
  });
});
