import { Concat } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

export const concatConfig = defineTfjsKernel(Concat, ({ inputs: { xs }, attrs: { axis }, backend }) =>
  backend.run(xs[0]!.dtype, () =>
    tf.concat(
      xs.map((t) => backend.handle(t)),
      axis,
    ),
  ),
);
