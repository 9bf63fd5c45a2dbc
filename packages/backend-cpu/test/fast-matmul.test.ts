// The WASM SIMD matmuls against the reference kernels on awkward shapes; their build variants and threads.

import { readFileSync } from 'node:fs';
import { FP8_FORMATS, fp8, MatMul, ScaledMatMul, type TensorInfo } from '@octet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, compileKernels, createCpuBackend, createReferenceBackend, relaxedSimdSupported } from '../src/index.js';
import { expectClose, FORMATS, randomCodes, randomF32, run, size } from './fast-helpers.js';

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
    const expected = run(reference, MatMul, { a: reference.write(av, a, 'float32'), b: reference.write(bv, b, 'float32') }, attrs);
    const actual = run(fast, MatMul, { a: fast.write(av, a, 'float32'), b: fast.write(bv, b, 'float32') }, attrs);
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
    expectClose(run(fast, ScaledMatMul, inputs(fast), attrs), run(reference, ScaledMatMul, inputs(reference), attrs), label(c));
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
      expectClose(run(fast, ScaledMatMul, inputs(fast), attrs), run(reference, ScaledMatMul, inputs(reference), attrs), `${M}×${N}×${K}`);
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
      const actual = run(fast, ScaledMatMul, { a: fast.write(xc, [M, K], 'uint8'), b: w, aScale: one(fast), bScale: one(fast) }, attrs);
      const expected = run(
        reference,
        ScaledMatMul,
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
        run(fast, ScaledMatMul, inputs(fast, w), attrs),
        run(reference, ScaledMatMul, inputs(reference, wRef), attrs),
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
        ScaledMatMul,
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
        const actual = run(fast, ScaledMatMul, { a: x(fast), b: w, aScale: one(fast), bScale: one(fast) }, attrs);
        const expected = run(reference, ScaledMatMul, { a: x(reference), b: wRef, aScale: one(reference), bScale: one(reference) }, attrs);
        expectClose(actual, expected, `${M}×${N}×${K}, transposeB ${transposeB}`);
      }
      fast.disposeData(w.dataId);
    }
    const wv = randomF32(70 * 260, 12);
    const w = fast.write(wv, [70, 260], 'float32');
    const x = fast.write(randomF32(20 * 260, 13), [20, 260], 'float32');
    const attrs = { transposeA: false, transposeB: true };
    const first = run(fast, MatMul, { a: x, b: w }, attrs);
    for (let i = 0; i < 3; i++) expect(run(fast, MatMul, { a: x, b: w }, attrs)).toEqual(first); // packed from the second on
    const expected = run(
      reference,
      MatMul,
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
      MatMul,
      { a: reference.write(av, [M, K], 'float32'), b: reference.write(bv, [K, N], 'float32') },
      attrs,
    );
    const actual = run(fast, MatMul, { a: fast.write(av, [M, K], 'float32'), b: fast.write(bv, [K, N], 'float32') }, attrs);
    expectClose(actual, expected, 'grown');
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
      const out = run(backend, MatMul, { a: backend.write(a, [M, K], 'float32'), b: backend.write(b, [K, N], 'float32') }, {});
      return [...new Set(out)];
    };
    expect(product(true)).toEqual([1 + 2 ** -23]);
    expect(product(false)).toEqual([1]);
  });
});

describe('worker threads of the fast kernels', () => {
  const job = (backend: CpuBackend) => {
    const [M, N, K] = [64, 256, 256];
    const attrs = { transposeA: false, transposeB: false };
    return run(
      backend,
      MatMul,
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
