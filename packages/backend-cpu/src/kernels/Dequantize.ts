import { type DequantizeAttrs, type DequantizeInputs, fp8, type KernelConfig } from '@octet/core';
import { output, values } from '../base.js';

export const dequantizeConfig: KernelConfig = {
  kernelName: 'Dequantize',
  kernelFunc: ({ inputs: { q, scale }, attrs: { format } }: { inputs: DequantizeInputs; attrs: DequantizeAttrs }) => {
    const decoded = fp8.decode(values<Uint8Array>(q), format);
    const s = values(scale)[0]!;
    for (let i = 0; i < decoded.length; i++) decoded[i]! /= s;
    return output(decoded, q.shape);
  },
};
