// Concat copies short rows with a loop and long ones with `set`: both against an index-by-index oracle.
import { Concat, type TensorInfo } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/index.js';

const backend = createReferenceBackend();

/** out[o, column + j] = x_t[o, j] with rows of the inputs' trailing sizes, written element by element. */
function oracle(parts: { values: number[]; shape: number[] }[], axis: number): number[] {
  const outer = parts[0]!.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inners = parts.map(({ shape }) => shape.slice(axis).reduce((p, d) => p * d, 1));
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const [i, part] of parts.entries()) for (let j = 0; j < inners[i]!; j++) out.push(part.values[o * inners[i]! + j]!);
  return out;
}

describe('Concat', () => {
  it.each([
    [
      [
        [3, 2, 255],
        [3, 2, 1],
      ],
      2,
    ], // rows of 255 and 1: loops
    [
      [
        [3, 2, 256],
        [3, 2, 300],
      ],
      2,
    ], // rows from 256: set
    [
      [
        [3, 300],
        [3, 5],
        [3, 256],
      ],
      1,
    ], // both in one call
    [
      [
        [2, 3],
        [4, 3],
      ],
      0,
    ],
  ] as [number[][], number][])('shapes %j along axis %i, as f32, int32 and uint8', (shapes, axis) => {
    for (const dtype of ['float32', 'int32', 'uint8'] as const) {
      const parts = shapes.map((shape, i) => ({
        shape,
        values: Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, k) => (k * 7 + i * 31) % 251),
      }));
      const Kind = dtype === 'float32' ? Float32Array : dtype === 'int32' ? Int32Array : Uint8Array;
      const xs = parts.map(({ shape, values }) => backend.write(Kind.from(values), shape, dtype));
      const out = backend.kernels.get(Concat)!({ inputs: { xs }, attrs: { axis }, backend } as never) as TensorInfo;
      expect(Array.from(backend.readSync(out)), dtype).toEqual(oracle(parts, axis));
      expect(out.dtype).toBe(dtype);
    }
  });
});
