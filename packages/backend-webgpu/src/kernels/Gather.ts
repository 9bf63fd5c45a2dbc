import { Gather, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { movementGrid } from '../shaders/movement.wgsl.js';
import { gatherProgram } from './Gather.wgsl.js';

/** Indices are not checked on the device (that would need a readback); out-of-range ids read the nearest row. */
export const gatherConfig = defineWebGpuKernel(Gather, ({ inputs: { table, indices }, backend }) => {
  const [rows, width] = table.shape as [number, number];
  const shape = [...indices.shape, width];
  const n = sizeOf(shape);
  return backend.run({
    program: gatherProgram(table.dtype),
    inputs: [table, indices],
    output: { shape, dtype: table.dtype },
    uniforms: [n, width, rows],
    workgroups: movementGrid(table.dtype, n),
  });
});
