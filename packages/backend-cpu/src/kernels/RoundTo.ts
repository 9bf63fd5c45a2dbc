import { bf16, f16, RoundTo } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

export const roundToConfig = defineCpuKernel(RoundTo, ({ inputs: { x }, attrs: { format } }) => {
  const codec = format === 'bf16' ? bf16 : f16;
  return output(codec.decode(codec.encode(values(x))), x.shape);
});
