import { Binary, type BinaryAttrs } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** maximum / minimum give NaN when either side is NaN (the wasm engine's do not). */
function propagatingNaN(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) {
  return (a: tf.Tensor, b: tf.Tensor) => {
    const result = f(a, b);
    return tf.where(tf.logicalOr(tf.isNaN(a), tf.isNaN(b)), tf.fill(result.shape, Number.NaN), result);
  };
}

const FUNCTIONS: Record<BinaryAttrs['op'], (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  maximum: propagatingNaN(tf.maximum),
  minimum: propagatingNaN(tf.minimum),
  pow: tf.pow,
};

export const binaryConfig = defineTfjsKernel(Binary, ({ inputs: { a, b }, attrs: { op }, backend }) =>
  backend.run('float32', () => FUNCTIONS[op](backend.handle(a), backend.handle(b))),
);
