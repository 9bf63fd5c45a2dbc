import type { CastAttrs, CastInputs, KernelConfig } from '@octet/core';
import { output, values } from '../base.js';

export const castConfig: KernelConfig = {
  kernelName: 'Cast',
  kernelFunc: ({ inputs: { x }, attrs: { dtype } }: { inputs: CastInputs; attrs: CastAttrs }) => {
    const xs = values<Float32Array | Int32Array | Uint8Array>(x);
    return output(dtype === 'int32' ? Int32Array.from(xs, Math.trunc) : Float32Array.from(xs), x.shape, dtype);
  },
};
