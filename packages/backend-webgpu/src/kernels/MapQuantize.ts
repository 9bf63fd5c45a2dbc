import { MapQuantize, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { mapQuantizeProgram } from './MapQuantize.wgsl.js';

export const mapQuantizeConfig = defineWebGpuKernel(MapQuantize, ({ inputs: { x, map }, attrs: { bits }, backend }) => {
  const n = sizeOf(x.shape);
  return backend.run({
    program: mapQuantizeProgram(bits),
    inputs: [x, map],
    output: { shape: [Math.ceil((n * bits) / 8)], dtype: 'uint8' },
    uniforms: [n, sizeOf(map.shape)],
    workgroups: elementwiseGrid(Math.ceil((n * bits) / 32)),
  });
});
