import type { KernelConfig, TransposeAttrs, TransposeInputs } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

export const transposeConfig: KernelConfig = {
  kernelName: 'Transpose',
  kernelFunc: ({ inputs: { x }, attrs: { perm }, backend }: { inputs: TransposeInputs; attrs: TransposeAttrs; backend: TfjsBackend }) =>
    backend.run(x.dtype, () => tf.transpose(backend.handle(x), perm)),
};
