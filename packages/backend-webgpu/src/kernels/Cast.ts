import { type CastAttrs, type CastInputs, type KernelConfig, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { castProgram } from './Cast.wgsl.js';

export const castConfig: KernelConfig = {
  kernelName: 'Cast',
  kernelFunc: ({ inputs: { x }, attrs: { dtype }, backend }: { inputs: CastInputs; attrs: CastAttrs; backend: WebGpuBackend }) => {
    const n = sizeOf(x.shape);
    return backend.run({
      program: castProgram(x.dtype, dtype),
      inputs: [x],
      output: { shape: x.shape, dtype },
      uniforms: [n],
      workgroups: elementwiseGrid(n),
    });
  },
};
