import { type KernelConfig, type RoundToAttrs, type RoundToInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { roundToProgram } from './RoundTo.wgsl.js';

export const roundToConfig: KernelConfig = {
  kernelName: 'RoundTo',
  kernelFunc: ({ inputs: { x }, attrs: { format }, backend }: { inputs: RoundToInputs; attrs: RoundToAttrs; backend: WebGpuBackend }) => {
    const n = sizeOf(x.shape);
    return backend.run({
      program: roundToProgram(format),
      inputs: [x],
      output: { shape: x.shape, dtype: 'float32' },
      uniforms: [n],
      workgroups: elementwiseGrid(n),
    });
  },
};
