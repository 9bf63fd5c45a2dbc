import { OneHot } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** Compared against 0..depth-1 rather than tf.oneHot, whose float32 output is wrong on the wasm engine. */
export const oneHotConfig = defineTfjsKernel(OneHot, ({ inputs: { indices }, attrs: { depth }, backend }) =>
  backend.run('float32', () => tf.cast(tf.equal(tf.expandDims(backend.handle(indices), -1), tf.range(0, depth, 1, 'int32')), 'float32')),
);
