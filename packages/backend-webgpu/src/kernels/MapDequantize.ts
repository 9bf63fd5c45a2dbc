import { MapDequantize, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { mapDequantizeProgram } from './MapDequantize.wgsl.js';

export const mapDequantizeConfig = defineWebGpuKernel(MapDequantize, ({ inputs: { codes, map }, attrs: { bits, shape }, backend }) => {
  const n = sizeOf(shape);
  return backend.run({
    program: mapDequantizeProgram(bits),
    inputs: [codes, map],
    output: { shape, dtype: 'float32' },
    uniforms: [n, sizeOf(map.shape)],
    workgroups: elementwiseGrid(n),
  });
});
