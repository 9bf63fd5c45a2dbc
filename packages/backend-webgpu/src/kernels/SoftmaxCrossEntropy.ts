import { SoftmaxCrossEntropy } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { workgroupGrid } from '../program.js';
import { softmaxCrossEntropyProgram } from './SoftmaxCrossEntropy.wgsl.js';

/** Targets are not checked on the device (that would need a readback); out-of-range targets are clamped. */
export const softmaxCrossEntropyConfig = defineWebGpuKernel(SoftmaxCrossEntropy, ({ inputs: { logits, targets }, backend }) => {
  const [rows, vocab] = logits.shape as [number, number];
  return backend.run({
    program: softmaxCrossEntropyProgram(),
    inputs: [logits, targets],
    output: { shape: [rows], dtype: 'float32' },
    uniforms: [rows, vocab, -Infinity],
    workgroups: workgroupGrid(rows),
  });
});
