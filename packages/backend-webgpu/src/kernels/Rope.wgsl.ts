import { FLAT_INDEX, type Program } from '../program.js';

/**
 * One thread per rotated pair (i, i + D/2) of a (B, H, T, D) row. cos and sin come from a table
 * (tableRows, D/2) each, computed on the host in f64 as the reference does: WGSL's sin and cos are
 * only accurate to about 2^-11 absolute. With per-batch-entry offsets the table holds T rows per
 * entry and `rowsPerEntry` (H·T) says which entry a row belongs to; 0 means one offset for all.
 */
export function ropeProgram(): Program {
  return {
    key: 'Rope',
    inputs: [
      { name: 'xs', type: 'f32' },
      { name: 'table', type: 'f32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'pairs', type: 'u32' },
      { name: 'half', type: 'u32' },
      { name: 'T', type: 'u32' },
      { name: 'rowsPerEntry', type: 'u32' },
      { name: 'tableRows', type: 'u32' },
    ],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.pairs) { return; }
  let row = i / u.half;
  let k = i % u.half;
  var t = row % u.T;
  if (u.rowsPerEntry > 0u) { t += (row / u.rowsPerEntry) * u.T; }
  let start = row * 2u * u.half;
  let c = table[t * u.half + k];
  let s = table[u.tableRows * u.half + t * u.half + k];
  let x1 = xs[start + k];
  let x2 = xs[start + k + u.half];
  out[start + k] = x1 * c - x2 * s;
  out[start + k + u.half] = x2 * c + x1 * s;`,
  };
}
