import { bf16, FP8_FORMATS, type Fp8Format, f16, fp8, op, setBackend, tidy } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTfjsBackend, type TfjsBackend } from '../src/index.js';

let backend: TfjsBackend;
beforeAll(async () => {
  backend = await createTfjsBackend({ engine: 'wasm' });
  setBackend(backend);
});

/**
 * f32 bit patterns: every value of the top 16 bits (every sign, exponent and the 7 leading
 * mantissa bits, so every FP8 rounding position) with low bits that make exact ties and values
 * one step either side of them.
 */
function sweep(lows: readonly number[]): Float32Array {
  const bits = new Uint32Array(65536 * lows.length);
  for (let high = 0; high < 65536; high++) for (const [i, low] of lows.entries()) bits[high * lows.length + i] = ((high << 16) | low) >>> 0;
  return new Float32Array(bits.buffer);
}

function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>, inputs: Float32Array, same: (a: number, e: number) => boolean) {
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 5; i++) {
    if (!same(actual[i]!, expected[i]!)) bad.push(`input ${inputs[i]} → ${actual[i]}, expected ${expected[i]}`);
  }
  return bad;
}

describe('FP8 emulation on the wasm engine, against core’s codec', () => {
  const values = sweep([0x0000, 0x0001, 0x7fff, 0x8000, 0xffff]);
  // Engines without a SearchSorted kernel (tfjs-node's 'tensorflow') take the binade method; it is
  // checked here by hiding the wasm engine's kernel.
  for (const method of ['searchSorted', 'binade'] as const) {
    for (const format of Object.keys(FP8_FORMATS) as Fp8Format[]) {
      for (const saturate of [true, false]) {
        it(`Quantize ${format} ${saturate ? 'saturating' : 'non-saturating'} by ${method}, on 327,680 f32 bit patterns`, async () => {
          const hidden = method === 'binade' ? tf.getKernel('SearchSorted', tf.getBackend()) : undefined;
          if (hidden) {
            tf.unregisterKernel('SearchSorted', tf.getBackend());
            expect(() => tf.searchSorted(tf.tensor1d([1, 2]), tf.tensor1d([1.5]))).toThrow(/SearchSorted/);
          }
          let actual: Uint8Array;
          try {
            actual = (await tidy(() =>
              op.quantizeTensor(op.tensor(values, [values.length]), op.scalar(1), format, saturate),
            ).data()) as Uint8Array;
          } finally {
            if (hidden) tf.registerKernel(hidden);
          }
          expect(actual).toBeInstanceOf(Uint8Array);
          const expected = fp8.encode(values, format, { saturate });
          // A NaN's sign bit cannot be seen through tfjs ops: NaN inputs give a NaN code, its sign aside.
          const same = (a: number, e: number) => a === e || (fp8.isNaNCode(format, a) && fp8.isNaNCode(format, e));
          expect(mismatches(actual, expected, values, same)).toEqual([]);
        });
      }
    }
  }

  for (const format of ['bf16', 'f16'] as const) {
    const codec = format === 'bf16' ? bf16 : f16;
    const lows = format === 'bf16' ? [0x0000, 0x7fff, 0x8000, 0x8001, 0xffff] : [0x0000, 0x0fff, 0x1000, 0x1001, 0x3000, 0xffff];
    it(`RoundTo ${format} on ${lows.length * 65536} f32 bit patterns`, async () => {
      const inputs = sweep(lows);
      const actual = (await tidy(() => op.roundTo(op.tensor(inputs, [inputs.length]), format)).data()) as Float32Array;
      const expected = codec.decode(codec.encode(inputs));
      const same = (a: number, e: number) => Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
      expect(mismatches(actual, expected, inputs, same)).toEqual([]);
    });
  }
});

describe('tfjs storage', () => {
  it('holds uint8 codes as int32 and reads them back as a Uint8Array', async () => {
    const codes = Uint8Array.from([0, 1, 127, 128, 255]);
    const t = op.tensor(codes, [5]);
    expect(backend.data(t).tensor.dtype).toBe('int32');
    const back = await t.data();
    expect(back).toBeInstanceOf(Uint8Array);
    expect(back).toEqual(codes);
    expect(t.dataSync()).toEqual(codes);
    t.dispose();
  });

  it('copies what it is given and what it hands back', async () => {
    const values = Float32Array.from([1, 2, 3]);
    const t = op.tensor(values, [3]);
    values[0] = 99;
    const read = (await t.data()) as Float32Array;
    read[1] = 99;
    expect(await t.data()).toEqual(Float32Array.from([1, 2, 3]));
    t.dispose();
  });

  it('reads a reshaped view of shared storage in its own shape', async () => {
    const t = op.tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const r = tidy(() => op.transpose(op.reshape(t, [3, 2]), [1, 0]));
    expect(r.shape).toEqual([2, 3]);
    expect(await r.data()).toEqual(Float32Array.from([1, 3, 5, 2, 4, 6]));
    t.dispose();
    r.dispose();
  });

  it('counts live bytes and frees a tensor’s tfjs handle when it is disposed', async () => {
    const before = backend.memoryBytes();
    const tensorsBefore = tf.memory().numTensors;
    const t = op.tensor(new Float32Array(100), [10, 10]);
    const q = op.tensor(new Uint8Array(8), [8]);
    expect(backend.memoryBytes()).toBe(before + 400 + 32);
    expect(tf.memory().numTensors).toBe(tensorsBefore + 2);
    t.dispose();
    q.dispose();
    expect(backend.memoryBytes()).toBe(before);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('leaves no tfjs intermediates behind a kernel', async () => {
    const x = op.tensor(Float32Array.from([0.5, -3, 1e-3, 500]), [4]);
    const quantize = () => op.quantizeTensor(x, op.scalar(2), 'e4m3fn');
    quantize().dispose(); // the first call makes the cached lookup tables
    const tensorsBefore = tf.memory().numTensors;
    const q = tidy(quantize);
    expect(tf.memory().numTensors).toBe(tensorsBefore + 1);
    expect(await q.data()).toEqual(fp8.encodeScaled(Float32Array.from([0.5, -3, 1e-3, 500]), 2, 'e4m3fn'));
    q.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore - 1);
  });

  it('an identity kernel result is a copy: disposing the input leaves it readable', async () => {
    const x = op.tensor(Float32Array.from([1, 2]), [2]);
    const y = op.affine(x, 1, 0);
    x.dispose();
    expect(await y.data()).toEqual(Float32Array.from([1, 2]));
    y.dispose();
  });

  it('rejects storage of another backend with a clear error', () => {
    expect(() => backend.data({ dataId: {}, shape: [1], dtype: 'float32' })).toThrow(
      /got a tensor stored by another backend.*allowed: tfjs tensors/,
    );
  });
});
