import { type KernelConfig, type MatMulAttrs, type MatMulInputs, matMulGeometry } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

/** tf.matMul broadcasts the batch dims (a rank-2 operand is shared by every batch). */
export const matMulConfig: KernelConfig = {
  kernelName: 'MatMul',
  kernelFunc: ({
    inputs: { a, b },
    attrs: { transposeA, transposeB },
    backend,
  }: {
    inputs: MatMulInputs;
    attrs: MatMulAttrs;
    backend: TfjsBackend;
  }) => {
    const { outShape } = matMulGeometry(a, b, transposeA, transposeB);
    return backend.run('float32', () => tf.matMul(backend.handle(a), backend.handle(b), transposeA, transposeB), outShape);
  },
};
