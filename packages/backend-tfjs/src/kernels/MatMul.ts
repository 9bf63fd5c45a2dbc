import { MatMul, matMulGeometry } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** tf.matMul broadcasts the batch dims (a rank-2 operand is shared by every batch). */
export const matMulConfig = defineTfjsKernel(MatMul, ({ inputs: { a, b }, attrs: { transposeA, transposeB }, backend }) => {
  const { outShape } = matMulGeometry(a, b, transposeA, transposeB);
  return backend.run('float32', () => tf.matMul(backend.handle(a), backend.handle(b), transposeA, transposeB), outShape);
});
