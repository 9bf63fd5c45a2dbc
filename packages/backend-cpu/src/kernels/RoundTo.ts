import { bf16, f16, type KernelConfig, type RoundToAttrs, type RoundToInputs } from '@octet/core';
import { output, values } from '../base.js';

export const roundToConfig: KernelConfig = {
  kernelName: 'RoundTo',
  kernelFunc: ({ inputs: { x }, attrs: { format } }: { inputs: RoundToInputs; attrs: RoundToAttrs }) => {
    const codec = format === 'bf16' ? bf16 : f16;
    return output(codec.decode(codec.encode(values(x))), x.shape);
  },
};
