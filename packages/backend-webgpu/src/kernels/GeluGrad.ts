import { type GeluGradInputs, type KernelConfig, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { geluGradProgram } from './GeluGrad.wgsl.js';

export const geluGradConfig: KernelConfig = {
  kernelName: 'GeluGrad',
  kernelFunc: ({ inputs: { dy, x }, backend }: { inputs: GeluGradInputs; backend: WebGpuBackend }) => {
    const n = sizeOf(x.shape);
    return backend.run({
      program: geluGradProgram(),
      inputs: [dy, x],
      output: { shape: x.shape, dtype: 'float32' },
      uniforms: [n],
      workgroups: elementwiseGrid(n),
    });
  },
};
