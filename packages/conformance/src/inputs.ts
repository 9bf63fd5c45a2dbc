/** Seeded host inputs for the conformance cases (the same values on every backend). */
import { Random } from '@octet/core';

/** Normal(0, std) values. */
export function normal(length: number, seed: number, std = 1): Float32Array {
  const random = new Random(seed);
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) values[i] = std * random.normal();
  return values;
}

/** Uniform values in [low, high). */
export function uniform(length: number, seed: number, low: number, high: number): Float32Array {
  const random = new Random(seed);
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) values[i] = low + (high - low) * random.next();
  return values;
}

/** Uniform integers in [0, bound). */
export function integers(length: number, seed: number, bound: number): Int32Array {
  const random = new Random(seed);
  const values = new Int32Array(length);
  for (let i = 0; i < length; i++) values[i] = Math.floor(random.next() * bound);
  return values;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The f32 `steps` units in the last place away from `x` (away from 0 for positive steps). */
export function ulpStep(x: number, steps: number): number {
  f32[0] = x;
  u32[0] = u32[0]! + steps;
  return f32[0]!;
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
