import type { GatherInputs, KernelConfig } from '@octet/core';
import { check } from '@octet/core';
import { allocateUninitialized, output, values } from '../base.js';

export const gatherConfig: KernelConfig = {
  kernelName: 'Gather',
  kernelFunc: ({ inputs: { table, indices } }: { inputs: GatherInputs }) => {
    const rows = table.shape[0]!;
    const width = table.shape[1]!;
    const tv = values(table);
    const ids = values<Int32Array>(indices);
    const out = allocateUninitialized(Float32Array, ids.length * width);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      check(id >= 0 && id < rows, 'gather: index', id, `an integer in [0, ${rows})`);
      out.set(tv.subarray(id * width, (id + 1) * width), i * width);
    }
    return output(out, [...indices.shape, width]);
  },
};
