/**
 * The tile scheduler of the WASM matmuls: a job's output is split into tiles, and every thread (the
 * caller, and the WorkerPool's workers with the module instantiated over the shared memory) takes
 * tiles from one atomic counter until none are left. Workers never keep views of the memory from JS:
 * the kernels read it from inside WASM, which always sees the grown memory, so a grow cannot leave a
 * worker on a stale buffer.
 */
import { JOB as POOL_JOB, WorkerPool } from '../worker-pool.js';
import type { WasmMemory, WasmModule } from './wasm-api.js';
import type { KernelExports } from './wasm-exports.js';
import { SCRATCH, SCRATCH_BYTES, TABLES } from './wasm-heap.js';

// Control words after the pool's own: the tile counter, then the job from JOB on (runTiles reads them by number).
const NEXT_TILE = POOL_JOB; // the tile counter every thread takes from
const JOB = 8;
const CONTROL_WORDS = 40;

/** What one job computes; every pointer is a byte offset, strides are per batch. */
export interface Job {
  kind: 'gemm' | 'matvecRows' | 'matvecCols';
  batch: number;
  M: number;
  N: number;
  K: number;
  tileRows: number;
  tileCols: number;
  a: number;
  aFormat: number;
  aKContig: boolean;
  aStride: number;
  b: number;
  bFormat: number;
  bKContig: boolean;
  /** B is a weight packed once by `WasmKernels.packed` (GEMM only). */
  bPacked?: boolean;
  bStride: number;
  c: number;
  scale: number;
  /** Matrix × vector: the power of two each sum is multiplied by before `scale` (see wasm/MatMul.ts); 1 for GEMM. */
  post?: number;
  useTable: boolean;
  /** Matrix × vector: where B's rewritten subnormal codes were (`WasmKernels.matvecOperand`), or 0. */
  fixups?: number;
}

const KIND = { gemm: 1, matvecRows: 2, matvecCols: 3 } as const;

/**
 * Takes tiles until none are left. Self-contained: workers receive it as source, so it names its
 * control words by number (the JOB layout written by `TileScheduler.run`).
 */
export function runTiles(kernels: KernelExports, control: Int32Array, floats: Float32Array, thread: number): void {
  const kind = control[8]!;
  const tiles = control[9]!;
  const tilesM = control[10]!;
  const tilesN = control[11]!;
  const tileRows = control[12]!;
  const tileCols = control[13]!;
  const M = control[14]!;
  const N = control[15]!;
  const K = control[16]!;
  const a = control[17]!;
  const aFormat = control[18]!;
  const aKContig = control[19]!;
  const aStride = control[20]!;
  const b = control[21]!;
  const bFormat = control[22]!;
  const bKContig = control[23]!;
  const bStride = control[24]!;
  const c = control[25]!;
  const tables = control[26]!;
  const useTable = control[27]!;
  const scratch = control[28]! + thread * control[29]!;
  const bPacked = control[30]!;
  const fixups = control[31]!;
  const scale = floats[32]!;
  const post = floats[33]!;
  const perBatch = tilesM * tilesN;
  for (let t = Atomics.add(control, 4, 1); t < tiles; t = Atomics.add(control, 4, 1)) {
    const p = Math.floor(t / perBatch);
    const mi = Math.floor((t - p * perBatch) / tilesN);
    const ni = t - p * perBatch - mi * tilesN;
    const m0 = mi * tileRows;
    const n0 = ni * tileCols;
    const m1 = Math.min(M, m0 + tileRows);
    const n1 = Math.min(N, n0 + tileCols);
    const ap = a + p * aStride;
    const bp = b + p * bStride;
    const cp = c + p * M * N * 4;
    if (kind === 1) {
      kernels.gemmTile(
        ap,
        aFormat,
        aKContig,
        bp,
        bFormat,
        bKContig,
        bPacked,
        cp,
        M,
        N,
        K,
        m0,
        m1,
        n0,
        n1,
        scale,
        tables,
        scratch,
        scratch + 4096,
      );
    } else if (kind === 2) {
      kernels.matvecRows(ap, M, bp, bFormat, cp, N, K, n0, n1, post, scale, tables, useTable, fixups, scratch);
    } else {
      kernels.matvecCols(ap, M, bp, bFormat, cp, N, K, n0, n1, post, scale, tables, useTable, fixups);
    }
  }
}

// The workers' part: instantiate the module over the shared memory, then take tiles of every job
// (worker i is thread i + 1; the caller is thread 0).
const PROGRAM = `
${runTiles.toString()}
function start(workerData, control) {
  const floats = new Float32Array(workerData.control);
  const kernels = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
  return (index) => runTiles(kernels, control, floats, index + 1);
}
`;

/**
 * Below this many multiply-adds a job is not worth waking the workers for (measured on 2 cores:
 * FP8 8×512×128, 2^19, takes as long on two threads as on one; 32×512×128, 2^21, is 1.3× faster).
 */
const MIN_PARALLEL_WORK = 1 << 20;

export class TileScheduler {
  private readonly control: Int32Array;
  private readonly floats: Float32Array;
  private readonly pool: WorkerPool | null;

  /** Starts `workers` threads (none: the caller runs every tile); if they fail to load, the caller runs alone. */
  constructor(
    private readonly kernels: KernelExports,
    module: WasmModule,
    memory: WasmMemory,
    workers: number,
    timeoutMs: number,
  ) {
    this.pool = WorkerPool.create(workers, {
      label: 'CPU kernel',
      controlWords: CONTROL_WORDS,
      program: PROGRAM,
      workerData: () => ({ data: { memory, module } }),
      timeoutMs,
    });
    this.control = this.pool?.control ?? new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    this.floats = this.pool?.floats ?? new Float32Array(this.control.buffer);
  }

  /** Threads that run jobs (the caller included). */
  get threadCount(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  /** Test hook: the pool's workers. */
  get workersForTesting(): readonly import('node:worker_threads').Worker[] {
    return this.pool?.workersForTesting ?? [];
  }

  /** Stops the workers; jobs then run on the calling thread. */
  terminate(): void {
    this.pool?.terminate();
  }

  /** Whether a job of this many multiply-adds runs on every thread (else on the caller alone, as one tile will do). */
  parallel(multiplyAdds: number): boolean {
    return this.threadCount > 1 && multiplyAdds >= MIN_PARALLEL_WORK;
  }

  /** Runs `job` on every thread; returns when all its tiles are done. */
  run(job: Job): void {
    this.pool?.assertUsable();
    const tilesM = Math.ceil(job.M / job.tileRows);
    const tilesN = Math.ceil(job.N / job.tileCols);
    const tiles = job.batch * tilesM * tilesN;
    if (tiles === 0) return;
    const control = this.control;
    const words = [
      KIND[job.kind],
      tiles,
      tilesM,
      tilesN,
      job.tileRows,
      job.tileCols,
      job.M,
      job.N,
      job.K,
      job.a,
      job.aFormat,
      job.aKContig ? 1 : 0,
      job.aStride,
      job.b,
      job.bFormat,
      job.bKContig ? 1 : 0,
      job.bStride,
      job.c,
      TABLES,
      job.useTable ? 1 : 0,
      SCRATCH,
      SCRATCH_BYTES,
      job.bPacked ? 1 : 0,
      job.fixups ?? 0,
    ];
    control.set(words, JOB);
    this.floats[JOB + words.length] = job.scale;
    this.floats[JOB + words.length + 1] = job.post ?? 1;
    Atomics.store(control, NEXT_TILE, 0);
    const parallel = tiles > 1 && this.parallel(job.batch * job.M * job.N * job.K);
    if (!parallel || !this.pool) {
      runTiles(this.kernels, control, this.floats, 0);
      return;
    }
    this.pool.run(() => runTiles(this.kernels, control, this.floats, 0));
  }
}
