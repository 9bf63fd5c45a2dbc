import { Unary, type UnaryAttrs } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu_tanh(x) = 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

const positive = (x: tf.Tensor) => tf.cast(tf.greater(x, 0), 'float32');

// sign and step are compared rather than taken from tf.sign / tf.step so NaN gives 0, as in the contract.
const FUNCTIONS: Record<UnaryAttrs['op'], (x: tf.Tensor) => tf.Tensor> = {
  neg: tf.neg,
  exp: tf.exp,
  log: tf.log,
  sqrt: tf.sqrt,
  rsqrt: tf.rsqrt,
  tanh: tf.tanh,
  sigmoid: tf.sigmoid,
  relu: tf.relu,
  gelu: geluTanh,
  square: tf.square,
  abs: tf.abs,
  reciprocal: tf.reciprocal,
  sign: (x) => tf.sub(positive(x), tf.cast(tf.less(x, 0), 'float32')),
  step: positive,
};

export const unaryConfig = defineTfjsKernel(Unary, ({ inputs: { x }, attrs: { op }, backend }) =>
  backend.run('float32', () => FUNCTIONS[op](backend.handle(x))),
);
