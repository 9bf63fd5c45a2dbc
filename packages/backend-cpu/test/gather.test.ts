// Gather copies short rows with a loop and long ones with `set`: both against an index-by-index oracle.
import { Gather, type TensorInfo } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/index.js';

const backend = createReferenceBackend();

function gather(rows: number, width: number, indices: number[]): { got: number[]; expected: number[] } {
  const table = Float32Array.from({ length: rows * width }, (_, k) => (k * 7) % 251);
  const out = backend.kernels.get(Gather)!({
    inputs: {
      table: backend.write(table, [rows, width], 'float32'),
      indices: backend.write(Int32Array.from(indices), [indices.length], 'int32'),
    },
    attrs: {},
    backend,
  } as never) as TensorInfo;
  expect(out.shape).toEqual([indices.length, width]);
  return {
    got: Array.from(backend.readSync(out)),
    expected: indices.flatMap((id) => Array.from(table.subarray(id * width, (id + 1) * width))),
  };
}

describe('Gather', () => {
  it.each([1, 32, 255, 256, 300])('rows of %i values, repeated and out of order', (width) => {
    const { got, expected } = gather(5, width, [4, 0, 2, 2, 3, 1, 4]);
    expect(got).toEqual(expected);
  });

  it.each([-1, 5, 100])('names an index outside the table (%i)', (bad) => {
    expect(() => gather(5, 3, [0, bad, 1])).toThrow(/gather: index.*\[0, 5\)/);
  });
});
