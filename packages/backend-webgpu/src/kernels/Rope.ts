import { Rope, ropeTable, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { ropeProgram } from './Rope.wgsl.js';

export const ropeConfig = defineWebGpuKernel(Rope, ({ inputs: { x }, attrs: { base, offset, inverse }, backend }) => {
  const [, H, T, D] = x.shape as [number, number, number, number];
  const pairs = sizeOf(x.shape) / 2;
  const run = (table: GPUBuffer, entries: number) =>
    backend.run({
      program: ropeProgram(),
      inputs: [x],
      extraInputs: [table],
      output: { shape: x.shape, dtype: 'float32' },
      // rowsPerEntry 0: one offset for every row.
      uniforms: [pairs, D / 2, T, entries === 1 ? 0 : H * T, entries * T],
      workgroups: elementwiseGrid(pairs),
    });
  if (typeof offset === 'number') {
    const table = backend.cachedBuffer(`rope:${T}:${D}:${base}:${offset}:${inverse}`, () => ropeTable(T, D, base, offset, inverse));
    return run(table, 1);
  }
  // Per-entry offsets change every decode step: the table goes through pooled storage, not the cache.
  const values = ropeTable(T, D, base, offset, inverse);
  const table = backend.write(values, [values.length], 'float32');
  try {
    return run(backend.data(table).buffer, offset.length);
  } finally {
    backend.disposeData(table.dataId);
  }
});
