import { Quantize } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';
import { encodeFp8 } from '../fp8-emulation.js';

/** q = fp8(x · scale): the product is rounded to f32 first, then snapped to the FP8 grid bit-exactly. */
export const quantizeConfig = defineTfjsKernel(Quantize, ({ inputs: { x, scale }, attrs: { format, saturate }, backend }) =>
  backend.run(
    'uint8',
    () => encodeFp8(backend, tf.mul(backend.handle(x), tf.reshape(backend.handle(scale), [])), format, saturate),
    x.shape,
  ),
);
