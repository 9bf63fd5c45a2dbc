import { Dequantize, type Fp8Format, fp8 } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';

/** Each format's 256 decoded values, made once from core's codec. */
const tables = new Map<Fp8Format, Float32Array>();
function tableOf(format: Fp8Format): Float32Array {
  let table = tables.get(format);
  if (!table) {
    table = fp8.decode(
      Uint8Array.from({ length: 256 }, (_, i) => i),
      format,
    );
    tables.set(format, table);
  }
  return table;
}

/**
 * x = decode(q) / scale through a 256-entry table (1 KiB, in cache, where the codec's long-input
 * path reads a 512 KiB table of code pairs), in one pass; dividing, as the reference does, so the
 * values are the reference's bit for bit.
 */
export const dequantizeConfig = defineCpuKernel(Dequantize, ({ inputs: { q, scale }, attrs: { format } }) => {
  const codes = values<Uint8Array>(q);
  const table = tableOf(format);
  const s = values(scale)[0]!;
  const out = allocateUninitialized(Float32Array, codes.length);
  if (s === 1) for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]!]!;
  else for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]!]! / s;
  return output(out, q.shape);
});
