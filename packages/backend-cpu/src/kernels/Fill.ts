import type { FillAttrs, KernelConfig } from '@octet/core';
import { output } from '../base.js';

export const fillConfig: KernelConfig = {
  kernelName: 'Fill',
  kernelFunc: ({ attrs: { shape, value, dtype } }: { attrs: FillAttrs }) => {
    const size = shape.reduce((p, d) => p * d, 1);
    const out = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
    out.fill(value);
    return output(out, shape, dtype);
  },
};
