import type { KernelConfig, SliceAttrs, SliceInputs } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

export const sliceConfig: KernelConfig = {
  kernelName: 'Slice',
  kernelFunc: ({ inputs: { x }, attrs: { begin, size }, backend }: { inputs: SliceInputs; attrs: SliceAttrs; backend: TfjsBackend }) =>
    backend.run(x.dtype, () => tf.slice(backend.handle(x), begin, size), size),
};
