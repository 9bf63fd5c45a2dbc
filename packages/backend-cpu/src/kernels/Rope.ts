import { type KernelConfig, type RopeAttrs, type RopeInputs, ropeTable } from '@octet/core';
import { output, values } from '../base.js';

/** Rotate-half RoPE: pairs (i, i + D/2) of each (B, H, T, D) row turn by θ_i·position. */
export const ropeConfig: KernelConfig = {
  kernelName: 'Rope',
  kernelFunc: ({ inputs: { x }, attrs: { base, offset, inverse } }: { inputs: RopeInputs; attrs: RopeAttrs }) => {
    const [B, H, T, D] = x.shape as [number, number, number, number];
    const half = D / 2;
    const table = ropeTable(T, D, base, offset, inverse);
    const cos = table.subarray(0, T * half);
    const sin = table.subarray(T * half);
    const xs = values(x);
    const out = new Float32Array(xs.length);
    for (let row = 0; row < B * H * T; row++) {
      const t = row % T;
      const start = row * D;
      for (let i = 0; i < half; i++) {
        const x1 = xs[start + i]!;
        const x2 = xs[start + i + half]!;
        const c = cos[t * half + i]!;
        const s = sin[t * half + i]!;
        out[start + i] = x1 * c - x2 * s;
        out[start + i + half] = x2 * c + x1 * s;
      }
    }
    return output(out, x.shape);
  },
};
