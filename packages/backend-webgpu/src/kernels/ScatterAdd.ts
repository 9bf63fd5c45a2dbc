import { type KernelConfig, type ScatterAddAttrs, type ScatterAddInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { scatterAddProgram } from './ScatterAdd.wgsl.js';

export const scatterAddConfig: KernelConfig = {
  kernelName: 'ScatterAdd',
  kernelFunc: ({
    inputs: { updates, indices },
    attrs: { numRows },
    backend,
  }: {
    inputs: ScatterAddInputs;
    attrs: ScatterAddAttrs;
    backend: WebGpuBackend;
  }) => {
    const width = updates.shape[updates.shape.length - 1]!;
    const n = numRows * width;
    return backend.run({
      program: scatterAddProgram(),
      inputs: [updates, indices],
      output: { shape: [numRows, width], dtype: 'float32' },
      uniforms: [n, width, sizeOf(indices.shape)],
      workgroups: elementwiseGrid(n),
    });
  },
};
