import { fp8, type KernelConfig, type QuantizeAttrs, type QuantizeInputs } from '@octet/core';
import { output, values } from '../base.js';

/** q = fp8(x · scale): the product is rounded to f32 first, as every backend does, then cast by core's codec. */
export const quantizeConfig: KernelConfig = {
  kernelName: 'Quantize',
  kernelFunc: ({ inputs: { x, scale }, attrs: { format, saturate } }: { inputs: QuantizeInputs; attrs: QuantizeAttrs }) => {
    const codes = fp8.encodeScaled(values(x), values(scale)[0]!, format, { saturate });
    return output(codes, x.shape, 'uint8');
  },
};
