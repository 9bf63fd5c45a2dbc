import { GeluGrad } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

const C = Math.sqrt(2 / Math.PI);

/** dy · (0.5 · (1 + t) + 0.5 · x · (1 - t²) · C · (1 + 3 · 0.044715 · x²)), t = tanh(C · (x + 0.044715 · x³)). */
export const geluGradConfig = defineTfjsKernel(GeluGrad, ({ inputs: { dy, x }, backend }) =>
  backend.run('float32', () => {
    const v = backend.handle(x);
    const v2 = tf.square(v);
    const t = tf.tanh(tf.mul(tf.add(v, tf.mul(tf.mul(v2, v), 0.044715)), C));
    const left = tf.mul(tf.add(t, 1), 0.5);
    const right = tf.mul(tf.mul(tf.mul(v, 0.5 * C), tf.sub(1, tf.square(t))), tf.add(tf.mul(v2, 3 * 0.044715), 1));
    return tf.mul(backend.handle(dy), tf.add(left, right));
  }),
);
