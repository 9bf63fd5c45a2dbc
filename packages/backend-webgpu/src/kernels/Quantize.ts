import { type KernelConfig, type QuantizeAttrs, type QuantizeInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { quantizeProgram } from './Quantize.wgsl.js';

export const quantizeConfig: KernelConfig = {
  kernelName: 'Quantize',
  kernelFunc: ({
    inputs: { x, scale },
    attrs: { format, saturate },
    backend,
  }: {
    inputs: QuantizeInputs;
    attrs: QuantizeAttrs;
    backend: WebGpuBackend;
  }) => {
    const n = sizeOf(x.shape);
    return backend.run({
      program: quantizeProgram(format, saturate),
      inputs: [x, scale],
      output: { shape: x.shape, dtype: 'uint8' },
      uniforms: [n],
      workgroups: elementwiseGrid(Math.ceil(n / 4)),
    });
  },
};
