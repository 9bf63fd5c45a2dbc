import { check, Gather } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';

/** Rows at least this long are copied with `set` (a view per row costs more than a short loop). */
const SET_FROM = 256;

export const gatherConfig = defineCpuKernel(Gather, ({ inputs: { table, indices } }) => {
  const rows = table.shape[0]!;
  const width = table.shape[1]!;
  const tv = values(table);
  const ids = values<Int32Array>(indices);
  // Every index is checked before copying; the message is built only for a bad one.
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < rows)) check(false, 'gather: index', id, `an integer in [0, ${rows})`);
  }
  const out = allocateUninitialized(Float32Array, ids.length * width);
  if (width >= SET_FROM) {
    for (let i = 0; i < ids.length; i++) {
      const from = ids[i]! * width;
      out.set(tv.subarray(from, from + width), i * width);
    }
  } else {
    for (let i = 0, at = 0; i < ids.length; i++) for (let j = 0, from = ids[i]! * width; j < width; j++) out[at++] = tv[from + j]!;
  }
  return output(out, [...indices.shape, width]);
});
