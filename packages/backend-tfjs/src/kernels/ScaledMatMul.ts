import { matMulGeometry, ScaledMatMul } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';
import { decodeFp8 } from '../fp8-emulation.js';

/** Decodes both FP8 operands by table lookup, multiplies in f32, applies alpha / (aScale · bScale) once. */
export const scaledMatMulConfig = defineTfjsKernel(ScaledMatMul, ({ inputs: { a, b, aScale, bScale }, attrs, backend }) => {
  const { aFormat, bFormat, transposeA, transposeB, alpha } = attrs;
  const { outShape } = matMulGeometry(a, b, transposeA, transposeB);
  return backend.run(
    'float32',
    () => {
      const product = tf.matMul(
        decodeFp8(backend, backend.handle(a), aFormat),
        decodeFp8(backend, backend.handle(b), bFormat),
        transposeA,
        transposeB,
      );
      const factor = tf.div(alpha, tf.mul(tf.reshape(backend.handle(aScale), []), tf.reshape(backend.handle(bScale), [])));
      return tf.mul(product, factor);
    },
    outShape,
  );
});
