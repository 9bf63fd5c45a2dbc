import { type DequantizeAttrs, type DequantizeInputs, type KernelConfig, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { dequantizeProgram } from './Dequantize.wgsl.js';

export const dequantizeConfig: KernelConfig = {
  kernelName: 'Dequantize',
  kernelFunc: ({
    inputs: { q, scale },
    attrs: { format },
    backend,
  }: {
    inputs: DequantizeInputs;
    attrs: DequantizeAttrs;
    backend: WebGpuBackend;
  }) => {
    const n = sizeOf(q.shape);
    return backend.run({
      program: dequantizeProgram(format),
      inputs: [q, scale],
      output: { shape: q.shape, dtype: 'float32' },
      uniforms: [n],
      workgroups: elementwiseGrid(n),
    });
  },
};
