import { Affine } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

export const affineConfig = defineTfjsKernel(Affine, ({ inputs: { x }, attrs: { scale, shift }, backend }) =>
  backend.run('float32', () => {
    let y = backend.handle(x);
    if (scale !== 1) y = tf.mul(y, scale);
    if (shift !== 0) y = tf.add(y, shift);
    return y;
  }),
);
