import { Cast } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** float32 → int32 truncates toward zero in tf.cast, as the contract asks. uint8 codes are int32 already. */
export const castConfig = defineTfjsKernel(Cast, ({ inputs: { x }, attrs: { dtype }, backend }) =>
  backend.run(dtype, () => tf.cast(backend.handle(x), dtype)),
);
