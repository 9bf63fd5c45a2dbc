import { fp8, Quantize } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

/** q = fp8(x · scale): the product is rounded to f32 first, as every backend does, then cast by core's codec. */
export const quantizeConfig = defineCpuKernel(Quantize, ({ inputs: { x, scale }, attrs: { format, saturate } }) => {
  const codes = fp8.encodeScaled(values(x), values(scale)[0]!, format, { saturate });
  return output(codes, x.shape, 'uint8');
});
