import { Gather } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** Rows of `table` by index. Indices are not range-checked (that would need a read back to the host). */
export const gatherConfig = defineTfjsKernel(Gather, ({ inputs: { table, indices }, backend }) =>
  backend.run('float32', () => tf.gather(backend.handle(table), tf.reshape(backend.handle(indices), [-1])), [
    ...indices.shape,
    table.shape[1]!,
  ]),
);
