import { ScatterAdd, sizeOf } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** tf.scatterND sums the updates of repeated indices, which is ScatterAdd. */
export const scatterAddConfig = defineTfjsKernel(ScatterAdd, ({ inputs: { updates, indices }, attrs: { numRows }, backend }) => {
  const width = updates.shape[updates.shape.length - 1]!;
  const count = sizeOf(indices.shape);
  return backend.run('float32', () =>
    tf.scatterND(tf.reshape(backend.handle(indices), [count, 1]), tf.reshape(backend.handle(updates), [count, width]), [numRows, width]),
  );
});
