import type { AffineAttrs, AffineInputs, KernelConfig } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

export const affineConfig: KernelConfig = {
  kernelName: 'Affine',
  kernelFunc: ({ inputs: { x }, attrs: { scale, shift }, backend }: { inputs: AffineInputs; attrs: AffineAttrs; backend: TfjsBackend }) =>
    backend.run('float32', () => {
      let y = backend.handle(x);
      if (scale !== 1) y = tf.mul(y, scale);
      if (shift !== 0) y = tf.add(y, shift);
      return y;
    }),
};
