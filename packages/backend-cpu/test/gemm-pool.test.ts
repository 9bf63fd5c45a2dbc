// The reference kernels' worker-thread GEMM: a worker that is gone fails the call rather than hanging it.
import { MatMul } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/index.js';
import { randomF32, run } from './fast-helpers.js';

describe('worker threads of the reference matmuls', () => {
  // 64 × 64 × 64 = 2^18 multiply-adds: just enough to be split across the workers.
  const matMul = (backend: CpuBackend) =>
    run(
      backend,
      MatMul,
      { a: backend.write(randomF32(64 * 64, 1), [64, 64], 'float32'), b: backend.write(randomF32(64 * 64, 2), [64, 64], 'float32') },
      { transposeA: false, transposeB: false },
    );

  it('fails a call, rather than hanging, when a worker is gone', async () => {
    const backend = createCpuBackend({ threads: 2, kernels: 'reference' });
    const pool = backend.gemmPool!;
    expect(matMul(backend)).toEqual(matMul(createCpuBackend({ threads: 1, kernels: 'reference' })));
    (pool as unknown as { pool: { timeoutMs: number } }).pool.timeoutMs = 200;
    await pool.workerThreadsForTesting[0]!.terminate();
    expect(() => matMul(backend)).toThrow(/a GEMM worker thread did not finish within 0.2 s.*threads: 1/);
    // The pool is given up on; later calls say so too.
    expect(() => matMul(backend)).toThrow(/threads: 1/);
  });
});
