import { type KernelConfig, type MapDequantizeAttrs, type MapDequantizeInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { mapDequantizeProgram } from './MapDequantize.wgsl.js';

export const mapDequantizeConfig: KernelConfig = {
  kernelName: 'MapDequantize',
  kernelFunc: ({
    inputs: { codes, map },
    attrs: { bits, shape },
    backend,
  }: {
    inputs: MapDequantizeInputs;
    attrs: MapDequantizeAttrs;
    backend: WebGpuBackend;
  }) => {
    const n = sizeOf(shape);
    return backend.run({
      program: mapDequantizeProgram(bits),
      inputs: [codes, map],
      output: { shape, dtype: 'float32' },
      uniforms: [n, sizeOf(map.shape)],
      workgroups: elementwiseGrid(n),
    });
  },
};
