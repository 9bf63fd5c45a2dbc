import { MapDequantize, sizeOf } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { codeAt } from './MapQuantize_impl.js';

/** map[code] per element; a code past the map's end reads NaN. */
export const mapDequantizeConfig = defineCpuKernel(MapDequantize, ({ inputs: { codes, map }, attrs: { bits, shape } }) => {
  const bytes = values<Uint8Array>(codes);
  const entries = values(map);
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = entries[codeAt(bytes, i, bits)] ?? Number.NaN;
  return output(out, shape);
});
