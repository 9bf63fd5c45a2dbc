import type { ConcatAttrs, ConcatInputs, KernelConfig } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

export const concatConfig: KernelConfig = {
  kernelName: 'Concat',
  kernelFunc: ({ inputs: { xs }, attrs: { axis }, backend }: { inputs: ConcatInputs; attrs: ConcatAttrs; backend: TfjsBackend }) =>
    backend.run(xs[0]!.dtype, () =>
      tf.concat(
        xs.map((t) => backend.handle(t)),
        axis,
      ),
    ),
};
