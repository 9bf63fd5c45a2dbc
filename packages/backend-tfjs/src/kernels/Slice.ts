import { Slice } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

export const sliceConfig = defineTfjsKernel(Slice, ({ inputs: { x }, attrs: { begin, size }, backend }) =>
  backend.run(x.dtype, () => tf.slice(backend.handle(x), begin, size), size),
);
