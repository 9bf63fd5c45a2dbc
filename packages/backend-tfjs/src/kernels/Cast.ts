import type { CastAttrs, CastInputs, KernelConfig } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

/** float32 → int32 truncates toward zero in tf.cast, as the contract asks. uint8 codes are int32 already. */
export const castConfig: KernelConfig = {
  kernelName: 'Cast',
  kernelFunc: ({ inputs: { x }, attrs: { dtype }, backend }: { inputs: CastInputs; attrs: CastAttrs; backend: TfjsBackend }) =>
    backend.run(dtype, () => tf.cast(backend.handle(x), dtype)),
};
