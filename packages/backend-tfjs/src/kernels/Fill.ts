import { Fill } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

export const fillConfig = defineTfjsKernel(Fill, ({ attrs: { shape, value, dtype }, backend }) =>
  backend.run(dtype, () => tf.fill([...shape], value, dtype), shape),
);
