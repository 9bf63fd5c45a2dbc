import { Dequantize } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';
import { decodeFp8 } from '../fp8-emulation.js';

export const dequantizeConfig = defineTfjsKernel(Dequantize, ({ inputs: { q, scale }, attrs: { format }, backend }) =>
  backend.run('float32', () => tf.div(decodeFp8(backend, backend.handle(q), format), tf.reshape(backend.handle(scale), [])), q.shape),
);
