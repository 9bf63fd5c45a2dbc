import type { GatherInputs, KernelConfig } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

/** Rows of `table` by index. Indices are not range-checked (that would need a read back to the host). */
export const gatherConfig: KernelConfig = {
  kernelName: 'Gather',
  kernelFunc: ({ inputs: { table, indices }, backend }: { inputs: GatherInputs; backend: TfjsBackend }) =>
    backend.run('float32', () => tf.gather(backend.handle(table), tf.reshape(backend.handle(indices), [-1])), [
      ...indices.shape,
      table.shape[1]!,
    ]),
};
