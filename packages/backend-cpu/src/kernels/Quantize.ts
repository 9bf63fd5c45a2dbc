import { fp8, type KernelConfig, type QuantizeAttrs, type QuantizeInputs } from '@octet/core';
import { output, values } from '../base.js';

/** q = fp8(x · scale): the product is rounded to f32 first, as every backend does, then cast by core's codec. */
export const quantizeConfig: KernelConfig = {
  kernelName: 'Quantize',
  kernelFunc: ({ inputs: { x, scale }, attrs: { format, saturate } }: { inputs: QuantizeInputs; attrs: QuantizeAttrs }) => {
    const xs = values(x);
    const s = values(scale)[0]!;
    const scaled = new Float32Array(xs.length);
    for (let i = 0; i < xs.length; i++) scaled[i] = xs[i]! * s;
    return output(fp8.encode(scaled, format, { saturate }), x.shape, 'uint8');
  },
};
