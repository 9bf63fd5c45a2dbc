import { fp8, MapQuantize, Quantize } from '@octet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, createCpuBackend, createReferenceBackend } from '../src/index.js';
import { FORMATS, random } from './fast-helpers.js';

describe('fast Quantize', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1 });
  afterAll(() => fast.wasm?.terminate());
  // Random bit patterns (every exponent, NaNs with both signs, infinities, subnormals) and values near each format's range.
  const next = random(31);
  const bits = Uint32Array.from({ length: 4099 }, () => Math.floor(next() * 2 ** 32));
  const xs = new Float32Array(bits.buffer);
  xs.set(
    [
      0,
      -0,
      Number.NaN,
      -Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      448,
      464,
      480,
      -57344,
      61440,
      2 ** -9,
      2 ** -10,
      1e-45,
    ],
    0,
  );
  for (let i = 20; i < 2000; i++) xs[i] = (next() * 2 - 1) * 2 ** Math.floor(next() * 40 - 24);
  new Uint32Array(xs.buffer)[15] = 0xffc00001; // a negative NaN with a payload

  // The arithmetic encoder against core's codec on every f32 that can behave differently: codes depend
  // only on the top 16 bits and on whether any low bit is set (the table's own argument, dtypes/minifloat.ts).
  const everySlot = new Uint32Array(5 << 16);
  for (let top = 0; top < 1 << 16; top++) {
    for (const [j, low] of [0, 1, 0x7fff, 0x8000, 0xffff].entries()) everySlot[5 * top + j] = ((top << 16) | low) >>> 0;
  }
  it.each(FORMATS.flatMap((format) => [true, false].map((saturate) => [format, saturate] as const)))(
    '%s, saturate %s: every f32 behaviour gives the codes of core',
    (format, saturate) => {
      const values = new Float32Array(everySlot.buffer);
      const x = fast.write(values, [values.length], 'float32');
      const scale = fast.write(Float32Array.of(1), [], 'float32');
      const codes = fast.readSync(
        fast.kernels.get(Quantize)!({ inputs: { x, scale }, attrs: { format, saturate }, backend: fast } as never),
      ) as Uint8Array;
      const expected = fp8.encode(values, format, { saturate });
      const wrong = codes.findIndex((c, i) => c !== expected[i]);
      expect(wrong === -1 ? 'all equal' : `bits 0x${everySlot[wrong]!.toString(16)}: ${codes[wrong]} vs ${expected[wrong]}`).toBe(
        'all equal',
      );
    },
  );

  it.each(
    FORMATS.flatMap((format) =>
      [true, false].flatMap((saturate) => [1, 0.3, 2 ** 20, 3e-5].map((scale) => [format, saturate, scale] as const)),
    ),
  )('%s, saturate %s, scale %s: the reference codes bit for bit', (format, saturate, scale) => {
    const inputs = (backend: CpuBackend) => ({
      x: backend.write(xs, [xs.length], 'float32'),
      scale: backend.write(Float32Array.of(scale), [], 'float32'),
    });
    const codes = (backend: CpuBackend) =>
      backend.readSync(backend.kernels.get(Quantize)!({ inputs: inputs(backend), attrs: { format, saturate }, backend } as never));
    expect(fast.wasm).not.toBeNull();
    expect(codes(fast)).toEqual(codes(reference));
  });
});

describe('createCpuBackend options', () => {
  it('runs the reference kernels alone when asked', () => {
    const backend = createCpuBackend({ threads: 1, kernels: 'reference' });
    expect(backend.wasm).toBeNull();
  });

  it('names the option and its allowed values when they are wrong', () => {
    expect(() => createCpuBackend({ kernels: 'turbo' as never })).toThrow(/kernels.*'fast' or 'reference'/);
    expect(() => createCpuBackend({ threads: 0 })).toThrow(/threads/);
    expect(() => createCpuBackend({ minWasmWork: -1 })).toThrow(/minWasmWork: got -1; allowed: an integer ≥ 0/);
    expect(() => createCpuBackend({ relaxedSimd: 'yes' as never })).toThrow(/relaxedSimd: got .*yes.*; allowed: true or false/);
  });
});

describe('fast MapQuantize', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1 });
  afterAll(() => fast.wasm?.terminate());
  // Every f32 behaviour a start table can get wrong: each top-16-bit bucket at its ends and inside (NaNs, infinities, subnormals included).
  const everySlot = new Uint32Array(5 << 16);
  for (let top = 0; top < 1 << 16; top++) {
    for (const [j, low] of [0, 1, 0x7fff, 0x8000, 0xffff].entries()) everySlot[5 * top + j] = ((top << 16) | low) >>> 0;
  }
  const values = new Float32Array(everySlot.buffer);
  // Maps with codes closer together than a bucket (0.5, 0.5001, 0.5002 share one), adjacent floats, 256 and 16 entries.
  const maps: [string, Float32Array, 4 | 8][] = [
    [
      '256 entries, dense near 0',
      Float32Array.from({ length: 256 }, (_, i) => Math.sign(i - 127.5) * 10 ** (-7 * (1 - Math.abs(i - 127.5) / 127.5))),
      8,
    ],
    ['close codes', Float32Array.from([-1, 0.5, 0.5001, 0.5002, 1]), 8],
    ['adjacent floats', Float32Array.from([-1, 0.5 - 2 ** -25, 0.5, 1]), 4],
    ['16 entries', Float32Array.from({ length: 16 }, (_, i) => (i + 1) / 16), 4],
  ];
  it.each(maps)('%s: the reference codes on every f32 behaviour', (_, map, bits) => {
    const codes = (backend: CpuBackend) =>
      backend.readSync(
        backend.kernels.get(MapQuantize)!({
          inputs: { x: backend.write(values, [values.length], 'float32'), map: backend.write(map, [map.length], 'float32') },
          attrs: { bits },
          backend,
        } as never),
      ) as Uint8Array;
    const expected = codes(reference);
    const actual = codes(fast);
    const wrong = actual.findIndex((c, i) => c !== expected[i]);
    expect(wrong === -1 ? 'all equal' : `byte ${wrong}: ${actual[wrong]} vs ${expected[wrong]}`).toBe('all equal');
  });
});
