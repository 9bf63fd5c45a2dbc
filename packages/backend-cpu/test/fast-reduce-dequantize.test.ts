import { Dequantize, Reduce, type ReduceAttrs } from '@octet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, createCpuBackend, createReferenceBackend } from '../src/index.js';
import { FORMATS, random, randomCodes, randomF32 } from './fast-helpers.js';

const reference = createReferenceBackend();
const fast = createCpuBackend({ threads: 1 });
afterAll(() => fast.wasm?.terminate());

function run(backend: CpuBackend, kernel: typeof Reduce | typeof Dequantize, inputs: object, attrs: object) {
  const out = backend.kernels.get(kernel)!({ inputs, attrs, backend } as never);
  return { values: backend.readSync(out), shape: out.shape };
}

/** Same bits, NaNs included (Object.is tells -0 from 0). */
function expectSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    if (!Object.is(actual[i], expected[i])) expect.fail(`[${i}] is ${actual[i]}, expected ${expected[i]}`);
}

describe('fast Reduce', () => {
  const xs = randomF32(4 * 6 * 48, 5);
  const next = random(9);
  for (let i = 0; i < 40; i++)
    xs[Math.floor(next() * xs.length)] = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY][i % 4]!;
  const cases: [number[], number[]][] = [
    [[4, 6, 48], [2]],
    [
      [4, 6, 48],
      [1, 2],
    ],
    [
      [4, 6, 48],
      [0, 1, 2],
    ],
    [[288, 4], [1]],
    [[4, 6, 48], [0]], // not trailing: the reference runs
    [[4, 6, 48], [1]],
  ];
  for (const [shape, axes] of cases)
    for (const op of ['sum', 'max', 'amax'] as ReduceAttrs['op'][])
      for (const keepDims of [false, true])
        it(`${op} over axes [${axes}] of [${shape}]${keepDims ? ', dims kept' : ''} equals the reference bit for bit`, () => {
          const attrs = { op, axes, keepDims };
          const expected = run(reference, Reduce, { x: reference.write(xs, shape, 'float32') }, attrs);
          const actual = run(fast, Reduce, { x: fast.write(xs, shape, 'float32') }, attrs);
          expect(actual.shape).toEqual(expected.shape);
          expectSameBits(actual.values, expected.values);
        });
});

describe('fast Dequantize', () => {
  for (const format of FORMATS)
    for (const scale of [1, 0.37, 448, -2])
      it(`${format} codes at scale ${scale} equal the reference bit for bit (NaN and infinity codes too)`, () => {
        const codes = randomCodes(1027, format, 3, true);
        codes.set(Uint8Array.from({ length: 256 }, (_, i) => i));
        const inputs = (backend: CpuBackend) => ({
          q: backend.write(codes, [codes.length], 'uint8'),
          scale: backend.write(new Float32Array([scale]), [], 'float32'),
        });
        expectSameBits(
          run(fast, Dequantize, inputs(fast), { format }).values,
          run(reference, Dequantize, inputs(reference), { format }).values,
        );
      });
});
