import type { KernelConfig, SoftmaxCrossEntropyInputs } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { workgroupGrid } from '../program.js';
import { softmaxCrossEntropyProgram } from './SoftmaxCrossEntropy.wgsl.js';

/** Targets are not checked on the device (that would need a readback); out-of-range targets are clamped. */
export const softmaxCrossEntropyConfig: KernelConfig = {
  kernelName: 'SoftmaxCrossEntropy',
  kernelFunc: ({ inputs: { logits, targets }, backend }: { inputs: SoftmaxCrossEntropyInputs; backend: WebGpuBackend }) => {
    const [rows, vocab] = logits.shape as [number, number];
    return backend.run({
      program: softmaxCrossEntropyProgram(),
      inputs: [logits, targets],
      output: { shape: [rows], dtype: 'float32' },
      uniforms: [rows, vocab, -Infinity],
      workgroups: workgroupGrid(rows),
    });
  },
};
