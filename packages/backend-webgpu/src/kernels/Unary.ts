import { type KernelConfig, sizeOf, type UnaryAttrs, type UnaryInputs } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { unaryProgram } from './Unary.wgsl.js';

export const unaryConfig: KernelConfig = {
  kernelName: 'Unary',
  kernelFunc: ({ inputs: { x }, attrs: { op }, backend }: { inputs: UnaryInputs; attrs: UnaryAttrs; backend: WebGpuBackend }) => {
    const n = sizeOf(x.shape);
    return backend.run({
      program: unaryProgram(op),
      inputs: [x],
      output: { shape: x.shape, dtype: 'float32' },
      uniforms: [n],
      workgroups: elementwiseGrid(n),
    });
  },
};
