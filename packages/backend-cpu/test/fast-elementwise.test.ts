import { Affine, Binary, GeluGrad, Softmax, SoftmaxCrossEntropy, Unary } from '@octet/core';
// The fast elementwise, softmax and cross-entropy kernels against the reference kernels.

import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, createCpuBackend, createReferenceBackend } from '../src/index.js';
import { randomF32, run, size } from './fast-helpers.js';

describe('fast Binary', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1, minWasmWork: 0 });
  afterAll(() => fast.wasm?.terminate());
  const pairs: [number[], number[]][] = [
    [
      [3, 5],
      [3, 5],
    ],
    [[3, 5], []],
    [[], [3, 5]],
    [[1], [4, 7]],
    [[2, 3, 5], [5]],
    [
      [2, 3, 5],
      [3, 1],
    ],
    [
      [2, 1, 5],
      [1, 3, 1],
    ],
    [
      [4, 1],
      [1, 6],
    ],
    [[0, 3], [3]],
    // From 16,384 outputs on the WASM kernel: every layout it covers, either side broadcast, and one it does not.
    [
      [256, 67],
      [256, 67],
    ],
    [[256, 67], []],
    [[], [256, 67]],
    [[8, 32, 67], [67]],
    [[67], [8, 32, 67]],
    [
      [8, 32, 67],
      [1, 1, 67],
    ],
    [
      [8, 32, 67],
      [8, 32, 1],
    ],
    [
      [8, 32, 1],
      [8, 32, 67],
    ],
    [
      [8, 32, 67],
      [32, 1],
    ],
  ];
  it.each(['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'])('%s equals the reference bit for bit under broadcasting', (op) => {
    expect(fast.wasm).not.toBeNull();
    for (const [sa, sb] of pairs) {
      const av = withSpecialValues(randomF32(size(sa), 11));
      const bv = withSpecialValues(randomF32(size(sb), 12));
      if (bv.length > 2) bv[1] = Number.NaN;
      const inputs = (backend: CpuBackend) => ({ a: backend.write(av, sa, 'float32'), b: backend.write(bv, sb, 'float32') });
      expect(run(fast, Binary, inputs(fast), { op }), `${sa} ${op} ${sb}`).toEqual(run(reference, Binary, inputs(reference), { op }));
    }
  });
});

/** Every 7th value replaced by one that tests rounding and the ends of f32: zeros, subnormals, huge, ±∞, NaN. */
function withSpecialValues(values: Float32Array): Float32Array {
  const specials = [0, -0, 1e-40, -3e-39, 1e-45, 3e38, -3.4e38, 1 / 3, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
  return values.map((v, i) => (i % 7 === 3 ? specials[((i / 7) % specials.length) | 0]! : v * (i % 3 === 0 ? 1e6 : 1)));
}

describe('fast elementwise kernels on large arrays (WASM)', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1 });
  afterAll(() => fast.wasm?.terminate());
  const xs = withSpecialValues(Float32Array.from(randomF32(17_003, 50), (v) => (Math.abs(v) < 0.5 ? v : v * 40)));

  it.each(['neg', 'square', 'sqrt', 'rsqrt', 'exp', 'relu'])('Unary %s equals the reference bit for bit', (op) => {
    expect(fast.wasm).not.toBeNull();
    const input = (backend: CpuBackend) => ({ x: backend.write(xs, [xs.length], 'float32') });
    expect(run(fast, Unary, input(fast), { op })).toEqual(run(reference, Unary, input(reference), { op }));
  });

  it.each([
    [0.1, 1 / 3],
    [-2.5, 0],
    [1e-30, 7],
    [3e38, -1e38],
  ])('Affine x · %d + %d equals the reference bit for bit (scale and shift not f32 values)', (scale, shift) => {
    const input = (backend: CpuBackend) => ({ x: backend.write(xs, [xs.length], 'float32') });
    expect(run(fast, Affine, input(fast), { scale, shift })).toEqual(run(reference, Affine, input(reference), { scale, shift }));
  });
});

describe('fast Unary and GeluGrad', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1 });
  afterAll(() => fast.wasm?.terminate());
  // Wide values (tails where tanh saturates), zeros, non-finite inputs.
  const xs = Float32Array.from([...randomF32(997, 21)].map((v, i) => v * (i % 3 === 0 ? 40 : 4)));
  xs.set([0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-30, -1e-30, 30, -30], 0);
  const input = (backend: CpuBackend) => ({ x: backend.write(xs, [xs.length], 'float32') });

  it.each(['exp', 'neg', 'square', 'rsqrt', 'sqrt', 'log', 'tanh', 'relu', 'abs', 'sign', 'step', 'reciprocal'])(
    '%s equals the reference bit for bit',
    (op) => {
      expect(run(fast, Unary, input(fast), { op })).toEqual(run(reference, Unary, input(reference), { op }));
    },
  );

  /** Same NaNs and infinities; finite values within 1e-6 relative, or 1e-6 absolute near 0 (the kernel contract). */
  function expectContract(actual: Float32Array, expected: Float32Array): void {
    for (let i = 0; i < expected.length; i++) {
      const [a, e] = [actual[i]!, expected[i]!];
      if (!Number.isFinite(e)) expect(a, `element ${i} (x = ${xs[i]})`).toBe(e);
      else expect(Math.abs(a - e), `element ${i} (x = ${xs[i]})`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(e)));
    }
  }

  it('gelu (one exp instead of tanh) agrees with the reference within the kernel contract', () => {
    const actual = run(fast, Unary, input(fast), { op: 'gelu' });
    const expected = run(reference, Unary, input(reference), { op: 'gelu' });
    expectContract(actual, expected);
    // Most elements are bit-identical; the rest differ where the reference's 1 + tanh(u) cancels.
    expect(actual.filter((v, i) => Object.is(v, expected[i])).length).toBeGreaterThan(0.9 * xs.length);
  });

  it('the WASM gelu and GeluGrad (polynomial e^t) give the f32 results of the f64 one-exp formula bit for bit', () => {
    const [c, cubic] = [Math.sqrt(2 / Math.PI), 0.044715];
    const wide = Float32Array.from([...randomF32(20_001, 23)].map((v, i) => v * (i % 3 === 0 ? 40 : 6)));
    wide.set([...xs.subarray(0, 9), 3.4e38, -3.4e38, 1e-45, -11.5, -12.5], 0);
    const dy = randomF32(wide.length, 24);
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-2 * c * (v + cubic * v * v * v)));
    const gelu = Float32Array.from(wide, (v) => v / (1 + Math.exp(-2 * c * (v + cubic * v * v * v))));
    const grad = Float32Array.from(wide, (v, i) => {
      const s = sigmoid(v);
      return dy[i]! * (s + 2 * v * s * (1 - s) * c * (1 + 3 * cubic * v * v));
    });
    const x = fast.write(wide, [wide.length], 'float32');
    expect(fast.wasm).not.toBeNull();
    expect(run(fast, Unary, { x }, { op: 'gelu' })).toEqual(gelu);
    expect(run(fast, GeluGrad, { dy: fast.write(dy, [dy.length], 'float32'), x }, {})).toEqual(grad);
  });

  it('GeluGrad agrees with the reference within the kernel contract', () => {
    const dy = randomF32(xs.length, 22);
    const inputs = (backend: CpuBackend) => ({ dy: backend.write(dy, [xs.length], 'float32'), ...input(backend) });
    expectContract(run(fast, GeluGrad, inputs(fast), {}), run(reference, GeluGrad, inputs(reference), {}));
  });
});

describe('fast Softmax', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1 });
  afterAll(() => fast.wasm?.terminate());

  // Rows of every width up to 67 (the SIMD loops' tails), attention-like masks (−1e30), values far
  // enough apart that some exponentials are f32 subnormals or 0, and rows holding NaN or ±∞.
  it.each([false, true])('equals the reference bit for bit (causal %s)', (causal) => {
    expect(fast.wasm).not.toBeNull();
    for (let width = 1; width <= 67; width++) {
      for (const queries of causal ? [1, Math.min(width, 5), width] : [3]) {
        const shape = [2, queries, width];
        const xs = Float32Array.from(randomF32(2 * queries * width, 30 + width), (v, i) =>
          i % 7 === 3 ? -1e30 : v * (i % 5 === 0 ? 120 : 8),
        );
        if (width > 10) xs.set([Number.NaN, 0], width); // row 1
        if (width > 10 && queries > 2) xs.set([Number.NEGATIVE_INFINITY], 2 * width);
        if (width > 10 && queries > 3) xs.set([Number.POSITIVE_INFINITY, 1], 3 * width + 2);
        const input = (backend: CpuBackend) => ({ x: backend.write(xs, shape, 'float32') });
        const expected = run(reference, Softmax, input(reference), { causal });
        expect(run(fast, Softmax, input(fast), { causal }), `width ${width}, ${queries} queries`).toEqual(expected);
      }
    }
  });
});

describe('fast SoftmaxCrossEntropy', () => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads: 1 });
  afterAll(() => fast.wasm?.terminate());

  it('equals the reference bit for bit, rows holding NaN or ±∞ included', () => {
    for (const vocab of [3, 17, 64, 67, 256]) {
      const rows = 40;
      const xs = Float32Array.from(randomF32(rows * vocab, 40 + vocab), (v, i) => v * (i % 5 === 0 ? 90 : 6));
      xs.set([Number.NaN], vocab);
      xs.set([Number.POSITIVE_INFINITY], 2 * vocab + 1);
      xs.set([Number.NEGATIVE_INFINITY], 3 * vocab + 2);
      const targets = Int32Array.from({ length: rows }, (_, r) => (r * 7) % vocab);
      const inputs = (backend: CpuBackend) => ({
        logits: backend.write(xs, [rows, vocab], 'float32'),
        targets: backend.write(targets, [rows], 'int32'),
      });
      const expected = run(reference, SoftmaxCrossEntropy, inputs(reference), {});
      expect(run(fast, SoftmaxCrossEntropy, inputs(fast), {}), `vocab ${vocab}`).toEqual(expected);
    }
  });

  it('names a target outside the vocabulary', () => {
    const inputs = {
      logits: fast.write(randomF32(4 * 32, 41), [4, 32], 'float32'),
      targets: fast.write(Int32Array.of(0, 1, 32, 2), [4], 'int32'),
    };
    expect(() => run(fast, SoftmaxCrossEntropy, inputs, {})).toThrow(/target.*32.*\[0, 32\)/);
  });
});
