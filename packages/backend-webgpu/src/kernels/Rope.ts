import { type KernelConfig, type RopeAttrs, type RopeInputs, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { ropeProgram } from './Rope.wgsl.js';

/** cos (T, D/2) then sin (T, D/2) of angle (offset + t) · base^(−2i/D); sin negated for the inverse. */
function ropeTable(T: number, D: number, base: number, offset: number, inverse: boolean): Float32Array {
  const half = D / 2;
  const table = new Float32Array(2 * T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (offset + t) * base ** (-(2 * i) / D);
      table[t * half + i] = Math.cos(angle);
      table[T * half + t * half + i] = inverse ? -Math.sin(angle) : Math.sin(angle);
    }
  }
  return table;
}

export const ropeConfig: KernelConfig = {
  kernelName: 'Rope',
  kernelFunc: ({
    inputs: { x },
    attrs: { base, offset, inverse },
    backend,
  }: {
    inputs: RopeInputs;
    attrs: RopeAttrs;
    backend: WebGpuBackend;
  }) => {
    const [, , T, D] = x.shape as [number, number, number, number];
    const pairs = sizeOf(x.shape) / 2;
    const table = backend.cachedBuffer(`rope:${T}:${D}:${base}:${offset}:${inverse}`, () => ropeTable(T, D, base, offset, inverse));
    return backend.run({
      program: ropeProgram(),
      inputs: [x],
      extraInputs: [table],
      output: { shape: x.shape, dtype: 'float32' },
      uniforms: [pairs, D / 2, T],
      workgroups: elementwiseGrid(pairs),
    });
  },
};
