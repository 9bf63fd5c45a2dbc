/**
 * Runs the reference kernels' blocked GEMM on every core: the rows of each batch are split between
 * the threads of a WorkerPool that share one block of memory with the caller, which sleeps until
 * they finish. Node only; elsewhere the backend stays single-threaded.
 */
import { gemmABt, type ParallelGemm } from './kernels/MatMul_impl.js';
import { JOB, WorkerPool } from './worker-pool.js';

// The job's control words.
const BATCH = JOB;
const M = JOB + 1;
const N = JOB + 2;
const K = JOB + 3;
const A_BATCHED = JOB + 4;
const B_BATCHED = JOB + 5;
const B_OFFSET = JOB + 6; // element offsets of B and C in the shared data
const C_OFFSET = JOB + 7;
const THREADS = JOB + 8;
const CONTROL_WORDS = JOB + 9;

/** Below this many multiply-adds a GEMM is not worth waking the workers for. */
const MIN_PARALLEL_WORK = 1 << 18;

// Each of `THREADS` workers computes its share of the rows of every batch (boundaries on multiples
// of 4, the register block). It reuses the very `gemmABt` the single-threaded path runs (a
// self-contained function, sent as source). The caller posts a new data buffer whenever it grows one.
const PROGRAM = `
const { receiveMessageOnPort } = require('node:worker_threads');
const [BATCH, M, N, K, A_BATCHED, B_BATCHED, B_OFFSET, C_OFFSET, THREADS] =
  [${[BATCH, M, N, K, A_BATCHED, B_BATCHED, B_OFFSET, C_OFFSET, THREADS].join(', ')}];
${gemmABt.toString()}
function rowBoundary(i, threads, rows) {
  return i === threads ? rows : Math.min(rows, Math.floor((rows * i) / threads / 4) * 4);
}
function runSlice(control, data, thread) {
  const batch = control[BATCH], m = control[M], n = control[N], k = control[K];
  const first = rowBoundary(thread, control[THREADS], m);
  const last = rowBoundary(thread + 1, control[THREADS], m);
  for (let p = 0; first < last && p < batch; p++) {
    const aOff = (control[A_BATCHED] ? p * m * k : 0) + first * k;
    const bOff = control[B_OFFSET] + (control[B_BATCHED] ? p * n * k : 0);
    const cOff = control[C_OFFSET] + p * m * n + first * n;
    gemmABt(data, aOff, data, bOff, data, cOff, last - first, n, k);
  }
}
function start(workerData, control) {
  let data = new Float32Array(0);
  return (index) => {
    // Take the newest buffer.
    for (let message = receiveMessageOnPort(workerData.port); message; message = receiveMessageOnPort(workerData.port)) {
      data = new Float32Array(message.message);
    }
    runSlice(control, data, index);
  };
}
`;

type MessagePort = import('node:worker_threads').MessagePort;

export class GemmPool implements ParallelGemm {
  private constructor(
    readonly threadCount: number,
    private readonly pool: WorkerPool,
    /** One per worker: where a grown data buffer is posted. */
    private readonly ports: readonly MessagePort[],
    private data: Float32Array,
  ) {}

  /** A pool of `threadCount` worker threads, or null where worker_threads is missing or they fail to start. */
  static create(threadCount: number): GemmPool | null {
    if (threadCount <= 1) return null;
    const data = new Float32Array(new SharedArrayBuffer(1 << 20));
    const ports: MessagePort[] = [];
    const pool = WorkerPool.create(threadCount, {
      label: 'GEMM',
      controlWords: CONTROL_WORDS,
      program: PROGRAM,
      workerData: (_index, threads) => {
        const { port1, port2 } = new threads.MessageChannel();
        port1.postMessage(data.buffer);
        ports.push(port1);
        return { data: { port: port2 }, transferList: [port2] };
      },
    });
    return pool && new GemmPool(threadCount, pool, ports, data);
  }

  /** Test hook: the workers, to make one of them vanish. */
  get workerThreadsForTesting(): readonly import('node:worker_threads').Worker[] {
    return this.pool.workersForTesting;
  }

  /** Same contract as the batched loop over `gemmABt`: A (batch?, M, K), B (batch?, N, K) → C (batch, M, N). */
  gemm(
    a: Float32Array,
    b: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    aBatched: boolean,
    bBatched: boolean,
  ): Float32Array | null {
    if (batch * m * n * k < MIN_PARALLEL_WORK || m < 8) return null;
    const cSize = batch * m * n;
    const needed = a.length + b.length + cSize;
    if (needed > this.data.length) {
      this.data = new Float32Array(new SharedArrayBuffer(2 ** Math.ceil(Math.log2(needed)) * 4));
      for (const port of this.ports) port.postMessage(this.data.buffer);
    }
    const data = this.data;
    data.set(a, 0);
    data.set(b, a.length);
    const control = this.pool.control;
    control[BATCH] = batch;
    control[M] = m;
    control[N] = n;
    control[K] = k;
    control[A_BATCHED] = aBatched ? 1 : 0;
    control[B_BATCHED] = bBatched ? 1 : 0;
    control[B_OFFSET] = a.length;
    control[C_OFFSET] = a.length + b.length;
    control[THREADS] = this.threadCount;
    this.pool.run();
    return data.slice(a.length + b.length, a.length + b.length + cSize);
  }
}
