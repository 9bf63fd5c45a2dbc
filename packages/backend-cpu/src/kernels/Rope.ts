import { Rope, ropeTable } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';

/** Rotate-half RoPE: pairs (i, i + D/2) of each (B, H, T, D) row turn by θ_i·position. */
export const ropeConfig = defineCpuKernel(Rope, ({ inputs: { x }, attrs: { base, offset, inverse } }) => {
  const [, H, T, D] = x.shape as [number, number, number, number];
  const half = D / 2;
  const table = ropeTable(T, D, base, offset, inverse);
  const tableRows = table.length / D;
  const perEntry = typeof offset !== 'number';
  const xs = values(x);
  const out = allocateUninitialized(Float32Array, xs.length);
  for (let row = 0; row < xs.length / D; row++) {
    // With per-entry offsets, batch entry b's angles are rows b·T … b·T + T − 1 of the table.
    const t = (perEntry ? Math.floor(row / (H * T)) * T : 0) + (row % T);
    const start = row * D;
    for (let i = 0; i < half; i++) {
      const x1 = xs[start + i]!;
      const x2 = xs[start + i + half]!;
      const c = table[t * half + i]!;
      const s = table[(tableRows + t) * half + i]!;
      out[start + i] = x1 * c - x2 * s;
      out[start + i + half] = x2 * c + x1 * s;
    }
  }
  return output(out, x.shape);
});
