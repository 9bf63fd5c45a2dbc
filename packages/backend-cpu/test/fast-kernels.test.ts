// The WASM SIMD kernels against the reference kernels, kernel by kernel, on awkward shapes.
import { readFileSync } from 'node:fs';
import { type Backend, FP8_FORMATS, type Fp8Format, fp8, type KernelName, type TensorInfo } from '@octet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, compileKernels, createCpuBackend, createReferenceBackend, relaxedSimdSupported } from '../src/index.js';

const FORMATS: Fp8Format[] = ['e4m3fn', 'e5m2', 'e4m3fnuz', 'e5m2fnuz'];

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

function randomF32(n: number, seed: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

/** Random finite codes of `format`, or with a few NaN / infinity codes among them when `special`. */
function randomCodes(n: number, format: Fp8Format, seed: number, special = false): Uint8Array {
  const next = random(seed);
  const table = fp8.decodeTable(format);
  const finite = [...table.keys()].filter((code) => Number.isFinite(table[code]!));
  const codes = Uint8Array.from({ length: n }, () => finite[Math.floor(next() * finite.length)]!);
  if (special && n > 0) {
    const specials = [...table.keys()].filter((code) => !Number.isFinite(table[code]!));
    codes[Math.floor(n / 2)] = specials[0]!;
  }
  return codes;
}

function run(backend: Backend, kernel: KernelName, inputs: Record<string, TensorInfo>, attrs: object): Float32Array {
  const func = backend.kernels.get(kernel)!;
  const out = func({ inputs, attrs, backend } as never);
  return (backend as CpuBackend).readSync(out) as Float32Array;
}

/** MatMul's tolerance: 1e-5 relative to the size of the result; NaN matches NaN, infinities match exactly. */
function expectClose(actual: Float32Array, expected: Float32Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  let max = 0;
  for (const v of expected) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) expect.fail(`${label}: [${i}] is ${a}, expected ${e}`);
      continue;
    }
    if (!(Math.abs(a - e) <= 1e-5 * (Math.abs(e) + max))) expect.fail(`${label}: [${i}] is ${a}, expected ${e} (largest ${max})`);
  }
}

interface Case {
  batchA: number[];
  batchB: number[];
  M: number;
  N: number;
  K: number;
  transposeA: boolean;
  transposeB: boolean;
}

function shapes({ batchA, batchB, M, N, K, transposeA, transposeB }: Case): { a: number[]; b: number[] } {
  return { a: [...batchA, ...(transposeA ? [K, M] : [M, K])], b: [...batchB, ...(transposeB ? [N, K] : [K, N])] };
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

// Not multiples of any tile (4 × 8 register block, 16-wide matrix × vector, 256-deep K blocks, 512-wide column tiles).
const CASES: Case[] = [];
for (const [M, N, K] of [
  [1, 1, 1],
  [1, 37, 300],
  [1, 1030, 64],
  [2, 33, 17],
  [3, 17, 1],
  [4, 65, 129],
  [5, 7, 3],
  [9, 530, 261],
  [67, 45, 513],
  [130, 19, 1],
  [64, 600, 40],
]) {
  for (const transposeA of [false, true])
    for (const transposeB of [false, true]) CASES.push({ batchA: [], batchB: [], M, N, K, transposeA, transposeB });
}
// Batches: both batched, a shared B (a weight), a shared A; matrix × vector and GEMM.
for (const [M, N, K] of [
  [1, 40, 33],
  [13, 21, 35],
]) {
  CASES.push({ batchA: [2, 3], batchB: [2, 3], M, N, K, transposeA: false, transposeB: true });
  CASES.push({ batchA: [3], batchB: [], M, N, K, transposeA: true, transposeB: false });
  CASES.push({ batchA: [], batchB: [4], M, N, K, transposeA: false, transposeB: false });
}
// Empty-ish: nothing to multiply over, no rows, no batches.
CASES.push({ batchA: [], batchB: [], M: 6, N: 9, K: 0, transposeA: false, transposeB: false });
CASES.push({ batchA: [], batchB: [], M: 0, N: 9, K: 5, transposeA: false, transposeB: true });
CASES.push({ batchA: [0], batchB: [0], M: 3, N: 9, K: 5, transposeA: false, transposeB: true });

const label = (c: Case) => `a ${shapes(c).a.join('×')}${c.transposeA ? 'ᵀ' : ''} · b ${shapes(c).b.join('×')}${c.transposeB ? 'ᵀ' : ''}`;

// Both builds of the kernels: with relaxed SIMD (fused multiply-adds) on 1 and 2 threads, without on 1.
describe.each([
  [1, true],
  [2, true],
  [1, false],
])('fast CPU kernels, %i thread(s), relaxed SIMD %s', (threads, relaxedSimd) => {
  const reference = createReferenceBackend();
  const fast = createCpuBackend({ threads, relaxedSimd, minWasmWork: 0 }); // every shape on the WASM kernels
  afterAll(() => fast.wasm?.terminate());

  it('runs the WASM kernels of the build asked for on the threads asked for', () => {
    expect(fast.wasm?.relaxedSimd).toBe(relaxedSimd);
    expect(fast.threads).toBe(threads);
  });

  it.each(CASES.map((c) => [label(c), c] as const))('MatMul %s', (_, c) => {
    const { a, b } = shapes(c);
    const av = randomF32(size(a), 1 + c.M);
    const bv = randomF32(size(b), 2 + c.N);
    const attrs = { transposeA: c.transposeA, transposeB: c.transposeB };
    const expected = run(reference, 'MatMul', { a: reference.write(av, a, 'float32'), b: reference.write(bv, b, 'float32') }, attrs);
    const actual = run(fast, 'MatMul', { a: fast.write(av, a, 'float32'), b: fast.write(bv, b, 'float32') }, attrs);
    expectClose(actual, expected, label(c));
  });

  const scaledCases = CASES.flatMap((c, i) =>
    FORMATS.map((format, j) => [`${label(c)}, ${format} · ${FORMATS[(i + j) % 4]}`, c, format, FORMATS[(i + j) % 4]!] as const),
  );
  it.each(scaledCases)('ScaledMatMul %s', (_, c, aFormat, bFormat) => {
    const { a, b } = shapes(c);
    const ac = randomCodes(size(a), aFormat, 3 + c.K);
    const bc = randomCodes(size(b), bFormat, 4 + c.M);
    const attrs = { aFormat, bFormat, transposeA: c.transposeA, transposeB: c.transposeB, alpha: 0.75 };
    const inputs = (backend: CpuBackend) => ({
      a: backend.write(ac, a, 'uint8'),
      b: backend.write(bc, b, 'uint8'),
      aScale: backend.write(Float32Array.of(2), [], 'float32'),
      bScale: backend.write(Float32Array.of(0.125), [], 'float32'),
    });
    expectClose(run(fast, 'ScaledMatMul', inputs(fast), attrs), run(reference, 'ScaledMatMul', inputs(reference), attrs), label(c));
  });

  it.each(FORMATS)('ScaledMatMul with NaN and infinity codes in %s operands, GEMM and matrix × vector', (format) => {
    for (const [M, N, K, transposeB] of [
      [1, 50, 70, true],
      [2, 50, 70, false],
      [12, 50, 70, true],
    ] as const) {
      const a = [M, K];
      const b = transposeB ? [N, K] : [K, N];
      const ac = randomCodes(size(a), format, 5, M > 4);
      const bc = randomCodes(size(b), format, 6, true);
      const attrs = { aFormat: format, bFormat: format, transposeA: false, transposeB, alpha: 1 };
      const inputs = (backend: CpuBackend) => ({
        a: backend.write(ac, a, 'uint8'),
        b: backend.write(bc, b, 'uint8'),
        aScale: backend.write(Float32Array.of(1), [], 'float32'),
        bScale: backend.write(Float32Array.of(1), [], 'float32'),
      });
      expectClose(
        run(fast, 'ScaledMatMul', inputs(fast), attrs),
        run(reference, 'ScaledMatMul', inputs(reference), attrs),
        `${M}×${N}×${K}`,
      );
    }
  });

  // A small weight ends up packed for the GEMM even for one row; a large one stays as resident codes.
  it.each([
    [1, 300, 200],
    [3, 1100, 600],
  ])('keeps a weight used repeatedly in WASM memory and still computes the same (%i × %i × %i)', (M, N, K) => {
    const wc = randomCodes(N * K, 'e4m3fn', 7);
    const w = fast.write(wc, [N, K], 'uint8');
    const wRef = reference.write(wc, [N, K], 'uint8');
    const one = (backend: CpuBackend) => backend.write(Float32Array.of(1), [], 'float32');
    for (let step = 0; step < 4; step++) {
      const xc = randomCodes(M * K, 'e4m3fn', 10 + step);
      const attrs = { aFormat: 'e4m3fn', bFormat: 'e4m3fn', transposeA: false, transposeB: true, alpha: 1 };
      const actual = run(fast, 'ScaledMatMul', { a: fast.write(xc, [M, K], 'uint8'), b: w, aScale: one(fast), bScale: one(fast) }, attrs);
      const expected = run(
        reference,
        'ScaledMatMul',
        { a: reference.write(xc, [M, K], 'uint8'), b: wRef, aScale: one(reference), bScale: one(reference) },
        attrs,
      );
      expectClose(actual, expected, `step ${step}`);
    }
  });

  // Matrix × vector rewrites a weight's subnormal codes once it is resident (and a copy per call
  // before that, or for another layout), while GEMMs must keep reading the original codes.
  it.each(['e4m3fn', 'e5m2fnuz'] as const)('reads %s weights full of subnormal codes right in every layout and beside GEMMs', (format) => {
    const [N, K] = [1100, 600]; // too large to be packed for a few rows: codes decoded in registers
    const wc = randomCodes(N * K, format, 14);
    const table = fp8.decodeTable(format);
    const smallest = Math.min(...[...table].filter((v) => v > 0));
    const smallestNormal = smallest * 2 ** FP8_FORMATS[format].mantissaBits;
    const subnormals = wc.filter((code) => table[code] !== 0 && Math.abs(table[code]!) < smallestNormal).length;
    expect(subnormals).toBeGreaterThan(N * K * 0.02);
    const w = fast.write(wc, [N, K], 'uint8');
    const wRef = reference.write(wc, [N, K], 'uint8');
    const one = (backend: CpuBackend) => backend.write(Float32Array.of(1), [], 'float32');
    const uses: [number, boolean][] = [
      [1, true],
      [1, true],
      [3, true],
      [2, false],
      [9, true],
      [9, true],
      [1, false],
      [1, true],
      [12, false],
      [4, false],
    ];
    for (const [step, [M, transposeB]] of uses.entries()) {
      const depth = transposeB ? K : N;
      const xc = randomCodes(M * depth, 'e4m3fn', 20 + step);
      const attrs = { aFormat: 'e4m3fn', bFormat: format, transposeA: false, transposeB, alpha: 1 };
      const inputs = (backend: CpuBackend, b: TensorInfo) => ({
        a: backend.write(xc, [M, depth], 'uint8'),
        b,
        aScale: one(backend),
        bScale: one(backend),
      });
      expectClose(
        run(fast, 'ScaledMatMul', inputs(fast, w), attrs),
        run(reference, 'ScaledMatMul', inputs(reference, wRef), attrs),
        `use ${step}: ${M} row(s), transposeB ${transposeB}`,
      );
    }
    fast.disposeData(w.dataId);
  });

  // A decode step batches whatever sequences are running: a sequence's logits must not depend on
  // which others share its step. One and two rows have kernels of their own (wasm/MatMul.ts).
  it('computes each row of a packed weight bit for bit the same alone as in a batch', () => {
    const [N, K] = [200, 300]; // N not a multiple of 32 or 16: the wide kernels' column tails too
    const w = fast.write(randomCodes(N * K, 'e4m3fn', 15), [N, K], 'uint8');
    const one = fast.write(Float32Array.of(1), [], 'float32');
    const rows = randomCodes(9 * K, 'e4m3fn', 16);
    const attrs = { aFormat: 'e4m3fn', bFormat: 'e4m3fn', transposeA: false, transposeB: true, alpha: 1 };
    const matmul = (first: number, count: number) =>
      run(
        fast,
        'ScaledMatMul',
        { a: fast.write(rows.subarray(first * K, (first + count) * K), [count, K], 'uint8'), b: w, aScale: one, bScale: one },
        attrs,
      );
    const batch = matmul(0, 9);
    expect(matmul(0, 9)).toEqual(batch); // the second use reads the weight packed
    for (const [first, count] of [
      [0, 1],
      [8, 1],
      [3, 2],
      [4, 3],
      [5, 4],
    ]) {
      expect(matmul(first!, count!), `rows ${first} … ${first! + count! - 1}`).toEqual(batch.subarray(first! * N, (first! + count!) * N));
    }
  });

  it('packs a weight that GEMMs reuse, with the same results as packing per call', () => {
    // Several K-blocks and column tiles, N not a multiple of 8; NaN codes in one weight; a weight
    // used both ways (as training uses it), an f32 weight, and a weight freed and replaced.
    const one = (backend: CpuBackend) => backend.write(Float32Array.of(1), [], 'float32');
    for (const [M, N, K, special] of [
      [9, 530, 513, false],
      [67, 45, 300, true],
      [2, 530, 513, false], // few rows: packed once the weight is small enough, else codes decoded in registers
    ] as const) {
      const wc = randomCodes(N * K, 'e5m2', 11, special);
      const w = fast.write(wc, [N, K], 'uint8');
      const wRef = reference.write(wc, [N, K], 'uint8');
      for (const transposeB of [true, true, false, true, false, false, true]) {
        const rows = transposeB ? K : N; // A's depth: the weight is (N, K), read as Bᵀ or as B
        const xc = randomCodes(M * rows, 'e4m3fn', M + rows);
        const attrs = { aFormat: 'e4m3fn', bFormat: 'e5m2', transposeA: false, transposeB, alpha: 0.5 };
        const x = (backend: CpuBackend) => backend.write(xc, [M, rows], 'uint8');
        const actual = run(fast, 'ScaledMatMul', { a: x(fast), b: w, aScale: one(fast), bScale: one(fast) }, attrs);
        const expected = run(
          reference,
          'ScaledMatMul',
          { a: x(reference), b: wRef, aScale: one(reference), bScale: one(reference) },
          attrs,
        );
        expectClose(actual, expected, `${M}×${N}×${K}, transposeB ${transposeB}`);
      }
      fast.disposeData(w.dataId);
    }
    const wv = randomF32(70 * 260, 12);
    const w = fast.write(wv, [70, 260], 'float32');
    const x = fast.write(randomF32(20 * 260, 13), [20, 260], 'float32');
    const attrs = { transposeA: false, transposeB: true };
    const first = run(fast, 'MatMul', { a: x, b: w }, attrs);
    for (let i = 0; i < 3; i++) expect(run(fast, 'MatMul', { a: x, b: w }, attrs)).toEqual(first); // packed from the second on
    const expected = run(
      reference,
      'MatMul',
      { a: reference.write(fast.readSync(x), [20, 260], 'float32'), b: reference.write(wv, [70, 260], 'float32') },
      attrs,
    );
    expectClose(first, expected, 'f32 weight');
  });

  it('handles operands that make the WASM memory grow', () => {
    const [M, N, K] = [40, 1100, 1300]; // ~ 6 MB of f32 operands on top of the initial memory
    const av = randomF32(M * K, 8);
    const bv = randomF32(K * N, 9);
    const attrs = { transposeA: false, transposeB: false };
    const expected = run(
      reference,
      'MatMul',
      { a: reference.write(av, [M, K], 'float32'), b: reference.write(bv, [K, N], 'float32') },
      attrs,
    );
    const actual = run(fast, 'MatMul', { a: fast.write(av, [M, K], 'float32'), b: fast.write(bv, [K, N], 'float32') }, attrs);
    expectClose(actual, expected, 'grown');
  });
});

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
      expect(run(fast, 'Binary', inputs(fast), { op }), `${sa} ${op} ${sb}`).toEqual(run(reference, 'Binary', inputs(reference), { op }));
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
    expect(run(fast, 'Unary', input(fast), { op })).toEqual(run(reference, 'Unary', input(reference), { op }));
  });

  it.each([
    [0.1, 1 / 3],
    [-2.5, 0],
    [1e-30, 7],
    [3e38, -1e38],
  ])('Affine x · %d + %d equals the reference bit for bit (scale and shift not f32 values)', (scale, shift) => {
    const input = (backend: CpuBackend) => ({ x: backend.write(xs, [xs.length], 'float32') });
    expect(run(fast, 'Affine', input(fast), { scale, shift })).toEqual(run(reference, 'Affine', input(reference), { scale, shift }));
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
      expect(run(fast, 'Unary', input(fast), { op })).toEqual(run(reference, 'Unary', input(reference), { op }));
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
    const actual = run(fast, 'Unary', input(fast), { op: 'gelu' });
    const expected = run(reference, 'Unary', input(reference), { op: 'gelu' });
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
    expect(run(fast, 'Unary', { x }, { op: 'gelu' })).toEqual(gelu);
    expect(run(fast, 'GeluGrad', { dy: fast.write(dy, [dy.length], 'float32'), x }, {})).toEqual(grad);
  });

  it('GeluGrad agrees with the reference within the kernel contract', () => {
    const dy = randomF32(xs.length, 22);
    const inputs = (backend: CpuBackend) => ({ dy: backend.write(dy, [xs.length], 'float32'), ...input(backend) });
    expectContract(run(fast, 'GeluGrad', inputs(fast), {}), run(reference, 'GeluGrad', inputs(reference), {}));
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
        const expected = run(reference, 'Softmax', input(reference), { causal });
        expect(run(fast, 'Softmax', input(fast), { causal }), `width ${width}, ${queries} queries`).toEqual(expected);
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
      const expected = run(reference, 'SoftmaxCrossEntropy', inputs(reference), {});
      expect(run(fast, 'SoftmaxCrossEntropy', inputs(fast), {}), `vocab ${vocab}`).toEqual(expected);
    }
  });

  it('names a target outside the vocabulary', () => {
    const inputs = {
      logits: fast.write(randomF32(4 * 32, 41), [4, 32], 'float32'),
      targets: fast.write(Int32Array.of(0, 1, 32, 2), [4], 'int32'),
    };
    expect(() => run(fast, 'SoftmaxCrossEntropy', inputs, {})).toThrow(/target.*32.*\[0, 32\)/);
  });
});

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
        fast.kernels.get('Quantize')!({ inputs: { x, scale }, attrs: { format, saturate }, backend: fast } as never),
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
      backend.readSync(backend.kernels.get('Quantize')!({ inputs: inputs(backend), attrs: { format, saturate }, backend } as never));
    expect(fast.wasm).not.toBeNull();
    expect(codes(fast)).toEqual(codes(reference));
  });
});

describe('the relaxed SIMD build', () => {
  it('is what Node runs by default (Node 20 has it behind a V8 flag the backend sets)', () => {
    expect(relaxedSimdSupported()).toBe(true);
    expect(createCpuBackend({ threads: 1 }).wasm?.relaxedSimd).toBe(true);
  });

  it('is what compileKernels fetches for hosts that load the module themselves, unless told otherwise', async () => {
    const asked: string[] = [];
    // The built files sit in dist/; the URLs point next to the compiled sources.
    const load = async (url: URL) => {
      const name = url.pathname.split('/').pop()!;
      asked.push(name);
      return readFileSync(new URL(`../dist/${name}`, import.meta.url));
    };
    const relaxed = createCpuBackend({ threads: 1, wasmModule: await compileKernels(load) });
    const plain = createCpuBackend({ threads: 1, wasmModule: await compileKernels(load, { relaxed: false }) });
    expect(asked).toEqual(['kernels-relaxed.wasm', 'kernels.wasm']);
    expect([relaxed.wasm?.relaxedSimd, plain.wasm?.relaxedSimd]).toEqual([true, false]);
  });

  it('rounds each multiply-add once where the plain build rounds the product, then the sum', () => {
    // 1 + a·b with a·b = 2^-24·(1 + 2^-36): the product alone rounds to 2^-24, and 1 + 2^-24 is a tie
    // that rounds to 1; fused, the sum is just above the tie and rounds up to 1 + 2^-23.
    const [M, N, K] = [8, 8, 2];
    const a = new Float32Array(M * K).map((_, i) => (i % K === 0 ? 1 : 1 + 2 ** -12));
    const b = new Float32Array(K * N).map((_, i) => (i < N ? 1 : 2 ** -24 * (1 - 2 ** -12 + 2 ** -24)));
    const product = (relaxedSimd: boolean) => {
      const backend = createCpuBackend({ threads: 1, relaxedSimd, minWasmWork: 0 });
      const out = run(backend, 'MatMul', { a: backend.write(a, [M, K], 'float32'), b: backend.write(b, [K, N], 'float32') }, {});
      return [...new Set(out)];
    };
    expect(product(true)).toEqual([1 + 2 ** -23]);
    expect(product(false)).toEqual([1]);
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

describe('worker threads of the fast kernels', () => {
  const job = (backend: CpuBackend) => {
    const [M, N, K] = [64, 256, 256];
    const attrs = { transposeA: false, transposeB: false };
    return run(
      backend,
      'MatMul',
      { a: backend.write(randomF32(M * K, 1), [M, K], 'float32'), b: backend.write(randomF32(K * N, 2), [K, N], 'float32') },
      attrs,
    );
  };

  it('fails a call, rather than hanging, when a worker is gone', async () => {
    const backend = createCpuBackend({ threads: 2 });
    const wasm = backend.wasm!;
    (wasm as unknown as { tiles: { pool: { timeoutMs: number } } }).tiles.pool.timeoutMs = 200;
    await wasm.workerThreadsForTesting[0]!.terminate();
    expect(() => job(backend)).toThrow(/did not finish within 0.2 s.*threads: 1/);
    // The pool is given up on; later calls say so too.
    expect(() => job(backend)).toThrow(/threads: 1/);
  });

  it('reports a worker whose tiles fail', () => {
    const backend = createCpuBackend({ threads: 2 });
    const wasm = backend.wasm!;
    // Tiles far outside the memory trap in every thread; the caller reports it once all are done.
    expect(() =>
      wasm.run({
        kind: 'gemm',
        batch: 64,
        M: 64,
        N: 64,
        K: 64,
        tileRows: 4,
        tileCols: 8,
        a: 0x7ff00000,
        aFormat: 0,
        aKContig: true,
        aStride: 0,
        b: 0x7ff00000,
        bFormat: 0,
        bKContig: true,
        bStride: 0,
        c: 0x7ff00000,
        scale: 1,
        useTable: false,
      }),
    ).toThrow();
    // A later, sound call still works.
    expect(job(backend).length).toBe(64 * 256);
    wasm.terminate();
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
        backend.kernels.get('MapQuantize')!({
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
