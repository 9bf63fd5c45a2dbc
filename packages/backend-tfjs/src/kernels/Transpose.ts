import { Transpose } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

export const transposeConfig = defineTfjsKernel(Transpose, ({ inputs: { x }, attrs: { perm }, backend }) =>
  backend.run(x.dtype, () => tf.transpose(backend.handle(x), perm)),
);
