import type { FillAttrs, KernelConfig } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

export const fillConfig: KernelConfig = {
  kernelName: 'Fill',
  kernelFunc: ({ attrs: { shape, value, dtype }, backend }: { attrs: FillAttrs; backend: TfjsBackend }) =>
    backend.run(dtype, () => tf.fill([...shape], value, dtype), shape),
};
