import type { DequantizeAttrs, DequantizeInputs, KernelConfig } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';
import { decodeFp8 } from '../fp8-emulation.js';

export const dequantizeConfig: KernelConfig = {
  kernelName: 'Dequantize',
  kernelFunc: ({
    inputs: { q, scale },
    attrs: { format },
    backend,
  }: {
    inputs: DequantizeInputs;
    attrs: DequantizeAttrs;
    backend: TfjsBackend;
  }) => backend.run('float32', () => tf.div(decodeFp8(backend, backend.handle(q), format), tf.reshape(backend.handle(scale), [])), q.shape),
};
