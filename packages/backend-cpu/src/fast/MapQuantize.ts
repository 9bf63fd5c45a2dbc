import { MapQuantize } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { mapQuantizeConfig as referenceMapQuantize } from '../kernels/MapQuantize.js';
import { codeOf, midpoints } from '../kernels/MapQuantize_impl.js';

/** Shorter inputs take the reference's search unless their map's table is built: building one costs 2^16 searches. */
const MIN_TABLE_ELEMENTS = 1 << 14;

/**
 * Per map (keyed by its midpoints' bytes; an optimizer uploads the same few maps every step), the
 * code to start from for each value of a float32's top 16 bits: the code of the bucket's smallest
 * value. Codes grow with the value, so a value's code is at least its bucket's start, and a bucket
 * spans a relative width of 2^-7, so a walk of a step or two up the midpoints finishes it.
 */
const startTables = new Map<string, Uint8Array>();
const MAX_TABLES = 8;

const keyOf = (t: Float32Array) => Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('latin1');

function startTable(t: Float32Array, key: string): Uint8Array {
  let table = startTables.get(key);
  if (table === undefined) {
    table = new Uint8Array(1 << 16);
    const bits = new Uint32Array(1);
    const value = new Float32Array(bits.buffer);
    for (let top = 0; top < 1 << 16; top++) {
      // The bucket's smallest value: its lowest bits when positive, its highest (largest magnitude) when negative.
      bits[0] = top >= 0x8000 ? ((top << 16) | 0xffff) >>> 0 : top << 16;
      table[top] = Number.isNaN(value[0]!) ? 0 : codeOf(t, value[0]!);
    }
    if (startTables.size >= MAX_TABLES) startTables.delete(startTables.keys().next().value!);
    startTables.set(key, table);
  }
  return table;
}

/** The reference's codes, from a start table per map instead of a search per element. */
export const mapQuantizeConfig = defineCpuKernel(MapQuantize, (args) => {
  const {
    inputs: { x, map },
    attrs: { bits },
  } = args;
  const xs = values(x);
  const thresholds = midpoints(values(map));
  const key = keyOf(thresholds);
  if (xs.length < MIN_TABLE_ELEMENTS && !startTables.has(key)) return referenceMapQuantize.kernelFunc(args as never);
  const starts = startTable(thresholds, key);
  // The midpoints and one +∞ after them, which ends every walk inside the array.
  const t = new Float32Array(thresholds.length + 1).fill(Number.POSITIVE_INFINITY);
  t.set(thresholds);
  const top = new Uint32Array(xs.buffer, xs.byteOffset, xs.length);
  const codes = new Uint8Array(Math.ceil((xs.length * bits) / 8));
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    let code = 0;
    if (!Number.isNaN(x)) {
      // Not NaN (NaN's buckets hold +∞ and −∞ too, so NaN is settled first).
      code = starts[top[i]! >>> 16]!;
      while (t[code]! < x) code++;
    }
    if (bits === 8) codes[i] = code;
    else codes[i >> 1]! |= code << ((i & 1) * 4);
  }
  return output(codes, [codes.length], 'uint8');
});
