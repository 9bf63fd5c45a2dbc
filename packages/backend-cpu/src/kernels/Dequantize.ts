import { Dequantize, fp8 } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

export const dequantizeConfig = defineCpuKernel(Dequantize, ({ inputs: { q, scale }, attrs: { format } }) => {
  const decoded = fp8.decode(values<Uint8Array>(q), format);
  const s = values(scale)[0]!;
  // x / 1 is x: the division pass is skipped for unit scales (μnit Scaling's, and grouped scales applied after).
  if (s !== 1) for (let i = 0; i < decoded.length; i++) decoded[i]! /= s;
  return output(decoded, q.shape);
});
