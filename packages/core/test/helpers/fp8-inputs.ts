/**
 * The inputs the FP8 cast tests run on, per format:
 * - every f32 whose low 16 bits are zero (65,536 values: all signs, exponents, NaN and inf);
 * - ±0, ±inf, NaN;
 * - every value of the format, every midpoint between neighbouring values (including the
 *   one between max and the step past it) and the f32 values one ulp either side of each;
 * - 1,000,000 seeded random f32 values: normal × 2^k over the format's whole range and past
 *   it, and raw random bit patterns.
 */
import { FP8_FORMATS, type Fp8Format } from '../../src/numerics.js';
import { f32Neighbours, referenceGrid } from './fp8-reference.js';

/** A small seeded generator for test data (mulberry32), independent of the code under test. */
export function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Standard normal samples from a seeded uniform source (Box–Muller). */
export function seededNormal(seed: number): () => number {
  const next = seededUint32(seed);
  return () => {
    const u = (next() + 1) / 4294967297;
    const v = next() / 4294967296;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export function highHalfPatterns(): Float32Array {
  const values = new Float32Array(65536);
  const bits = new Uint32Array(values.buffer);
  for (let high = 0; high < 65536; high++) bits[high] = high << 16;
  return values;
}

export const SPECIAL_VALUES = new Float32Array([0, -0, Infinity, -Infinity, Number.NaN]);

/** Every value of the format, the midpoints between neighbours, and one f32 ulp either side of each. */
export function gridInputs(format: Fp8Format): Float32Array {
  const grid = referenceGrid(format).values;
  const out: number[] = [];
  for (let code = 0; code < grid.length; code++) {
    const points = [grid[code]!];
    if (code + 1 < grid.length) points.push((grid[code]! + grid[code + 1]!) / 2);
    for (const point of points) {
      for (const signed of [point, -point]) {
        const [below, above] = f32Neighbours(signed);
        out.push(signed, below, above);
      }
    }
  }
  return new Float32Array(out);
}

/** Random values of assorted magnitudes: normal × 2^k with k across the format's range and beyond, plus raw bit patterns. */
export function randomInputs(format: Fp8Format, count = 1_000_000, seed = 20240607): Float32Array {
  const info = FP8_FORMATS[format];
  const normal = seededNormal(seed);
  const uniform = seededUint32(seed ^ 0x5bd1e995);
  const values = new Float32Array(count);
  const bits = new Uint32Array(values.buffer);
  // From well below the smallest subnormal to well past max.
  const lowest = Math.floor(Math.log2(info.minSubnormal)) - 4;
  const highest = Math.ceil(Math.log2(info.max)) + 4;
  for (let i = 0; i < count; i++) {
    if (i % 8 === 7) {
      bits[i] = uniform();
    } else {
      const exponent = lowest + (uniform() % (highest - lowest + 1));
      values[i] = normal() * 2 ** exponent;
    }
  }
  return values;
}

const castInputsCache = new Map<Fp8Format, Float32Array>();

/** All inputs of the module comment, concatenated (built once per format; do not modify). */
export function castInputs(format: Fp8Format): Float32Array {
  let inputs = castInputsCache.get(format);
  if (inputs === undefined) {
    inputs = buildCastInputs(format);
    castInputsCache.set(format, inputs);
  }
  return inputs;
}

/** Index of the first element where two equally long arrays differ (Object.is), or -1. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function buildCastInputs(format: Fp8Format): Float32Array {
  const parts = [highHalfPatterns(), SPECIAL_VALUES, gridInputs(format), randomInputs(format)];
  const all = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
