import { type KernelConfig, type ScaleFromAmaxAttrs, type ScaleFromAmaxInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { scaleFromAmaxProgram } from './ScaleFromAmax.wgsl.js';

export const scaleFromAmaxConfig: KernelConfig = {
  kernelName: 'ScaleFromAmax',
  kernelFunc: ({
    inputs: { amaxHistory },
    attrs,
    backend,
  }: {
    inputs: ScaleFromAmaxInputs;
    attrs: ScaleFromAmaxAttrs;
    backend: WebGpuBackend;
  }) =>
    backend.run({
      program: scaleFromAmaxProgram(attrs.reduce, attrs.powerOfTwo),
      inputs: [amaxHistory],
      output: { shape: [], dtype: 'float32' },
      uniforms: [sizeOf(amaxHistory.shape), attrs.fp8Max, 2 ** attrs.margin],
      workgroups: [1, 1, 1],
    }),
};
