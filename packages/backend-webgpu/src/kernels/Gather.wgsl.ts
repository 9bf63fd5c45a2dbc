import type { DType } from '@octet/core';
import type { Program } from '../program.js';
import { movementProgram } from '../shaders/movement.wgsl.js';

/** Output element o copies element (ids[o / width], o % width) of the table; ids are clamped into the table. */
export function gatherProgram(dtype: DType): Program {
  return movementProgram(
    'Gather',
    dtype,
    [
      { name: 'width', type: 'u32' },
      { name: 'rows', type: 'u32' },
    ],
    `fn source(o: u32) -> u32 {
  let row = u32(clamp(ids[o / u.width], 0, i32(u.rows) - 1));
  return row * u.width + o % u.width;
}`,
    [{ name: 'ids', type: 'i32' }],
  );
}
