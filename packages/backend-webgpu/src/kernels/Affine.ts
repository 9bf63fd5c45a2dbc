import { type AffineAttrs, type AffineInputs, type KernelConfig, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { affineProgram } from './Affine.wgsl.js';

export const affineConfig: KernelConfig = {
  kernelName: 'Affine',
  kernelFunc: ({
    inputs: { x },
    attrs: { scale, shift },
    backend,
  }: {
    inputs: AffineInputs;
    attrs: AffineAttrs;
    backend: WebGpuBackend;
  }) => {
    const n = sizeOf(x.shape);
    return backend.run({
      program: affineProgram(),
      inputs: [x],
      output: { shape: x.shape, dtype: 'float32' },
      uniforms: [n, scale, shift],
      workgroups: elementwiseGrid(n),
    });
  },
};
