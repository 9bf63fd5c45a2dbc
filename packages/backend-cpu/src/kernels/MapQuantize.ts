import { MapQuantize } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { codeOf, midpoints } from './MapQuantize_impl.js';

/** Each value's code among the map's float32 midpoints, by binary search; 4-bit codes two to a byte. */
export const mapQuantizeConfig = defineCpuKernel(MapQuantize, ({ inputs: { x, map }, attrs: { bits } }) => {
  const xs = values(x);
  const t = midpoints(values(map));
  const codes = new Uint8Array(Math.ceil((xs.length * bits) / 8));
  if (bits === 8) for (let i = 0; i < xs.length; i++) codes[i] = codeOf(t, xs[i]!);
  else for (let i = 0; i < xs.length; i++) codes[i >> 1]! |= codeOf(t, xs[i]!) << ((i & 1) * 4);
  return output(codes, [codes.length], 'uint8');
});
