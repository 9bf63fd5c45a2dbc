import type { AffineAttrs, AffineInputs, KernelConfig } from '@octet/core';
import { allocateUninitialized, output, values } from '../base.js';

export const affineConfig: KernelConfig = {
  kernelName: 'Affine',
  kernelFunc: ({ inputs: { x }, attrs: { scale, shift } }: { inputs: AffineInputs; attrs: AffineAttrs }) => {
    const xs = values(x);
    const out = allocateUninitialized(Float32Array, xs.length);
    for (let i = 0; i < xs.length; i++) out[i] = xs[i]! * scale + shift;
    return output(out, x.shape);
  },
};
