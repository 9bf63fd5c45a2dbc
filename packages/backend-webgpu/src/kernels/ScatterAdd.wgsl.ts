import { FLAT_INDEX, type Program } from '../program.js';

/**
 * One thread per output element (row r, column j) sums updates[i, j] over every i with ids[i] = r,
 * in index order: deterministic, and without atomics (WGSL has no float atomics).
 */
export function scatterAddProgram(): Program {
  return {
    key: 'ScatterAdd',
    inputs: [
      { name: 'updates', type: 'f32' },
      { name: 'ids', type: 'i32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'width', type: 'u32' },
      { name: 'count', type: 'u32' },
    ],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let row = i32(i / u.width);
  let col = i % u.width;
  var acc = 0.0;
  for (var k = 0u; k < u.count; k++) {
    if (ids[k] == row) { acc += updates[k * u.width + col]; }
  }
  out[i] = acc;`,
  };
}
