import type { KernelConfig, TransposeAttrs, TransposeInputs } from '@octet/core';
import { output, values } from '../base.js';
import { transposeValues } from './Transpose_impl.js';

export const transposeConfig: KernelConfig = {
  kernelName: 'Transpose',
  kernelFunc: ({ inputs: { x }, attrs: { perm } }: { inputs: TransposeInputs; attrs: TransposeAttrs }) => {
    const result = transposeValues(values<Float32Array | Int32Array | Uint8Array>(x), x.shape, perm);
    return output(result.values, result.shape, x.dtype);
  },
};
