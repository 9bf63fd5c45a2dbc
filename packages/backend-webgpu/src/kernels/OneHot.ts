import { type KernelConfig, type OneHotAttrs, type OneHotInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { oneHotProgram } from './OneHot.wgsl.js';

export const oneHotConfig: KernelConfig = {
  kernelName: 'OneHot',
  kernelFunc: ({
    inputs: { indices },
    attrs: { depth },
    backend,
  }: {
    inputs: OneHotInputs;
    attrs: OneHotAttrs;
    backend: WebGpuBackend;
  }) => {
    const shape = [...indices.shape, depth];
    const n = sizeOf(shape);
    return backend.run({
      program: oneHotProgram(),
      inputs: [indices],
      output: { shape, dtype: 'float32' },
      uniforms: [n, depth],
      workgroups: elementwiseGrid(n),
    });
  },
};
