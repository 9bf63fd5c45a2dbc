/**
 * Runs the blocked GEMM on every core: the rows of each batch are split between long-lived worker
 * threads that share one block of memory with the caller, which sleeps until they finish. Workers sleep on an
 * Atomics counter between calls, so a call costs no thread start-up and no message round trip.
 * Node only (worker_threads); elsewhere the backend stays single-threaded.
 */
import { gemmABt, type ParallelGemm } from './kernels/MatMul_impl.js';

type WorkerThreads = typeof import('node:worker_threads');

// Control words shared with the workers.
const SEQUENCE = 0; // bumped once per job: wakes the workers
const FINISHED = 1; // workers done with the current job
const BATCH = 2;
const M = 3;
const N = 4;
const K = 5;
const A_BATCHED = 6;
const B_BATCHED = 7;
const B_OFFSET = 8; // element offsets of B and C in the shared data
const C_OFFSET = 9;
const THREADS = 10;
const READY = 11; // workers that finished loading
const FAILED = 12; // set by a worker whose slice threw
const CONTROL_WORDS = 13;

/** Longest a GEMM slice may take before the caller gives up on its workers. */
const WORKER_TIMEOUT_MS = 60_000;

/** Below this many multiply-adds a GEMM is not worth waking the workers for. */
const MIN_PARALLEL_WORK = 1 << 18;

// The worker's whole program. Each of `THREADS` workers computes its share of the rows of every
// batch (boundaries on multiples of 4, the register block), then counts itself finished. It reuses
// the very `gemmABt` the single-threaded path runs (a self-contained function, sent as source).
// A failure is flagged rather than thrown, so the waiting caller never hangs.
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const [SEQUENCE, FINISHED, BATCH, M, N, K, A_BATCHED, B_BATCHED, B_OFFSET, C_OFFSET, THREADS, READY, FAILED] =
  [${[SEQUENCE, FINISHED, BATCH, M, N, K, A_BATCHED, B_BATCHED, B_OFFSET, C_OFFSET, THREADS, READY, FAILED].join(', ')}];
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
const control = new Int32Array(workerData.control);
let data = new Float32Array(0);
let seen = 0;
Atomics.add(control, READY, 1);
Atomics.notify(control, READY);
for (;;) {
  Atomics.wait(control, SEQUENCE, seen);
  seen = Atomics.load(control, SEQUENCE);
  // The caller posts a new buffer whenever it grows one; take the newest.
  for (let message = receiveMessageOnPort(workerData.port); message; message = receiveMessageOnPort(workerData.port)) {
    data = new Float32Array(message.message);
  }
  try {
    runSlice(control, data, workerData.index);
  } catch (error) {
    Atomics.store(control, FAILED, 1);
  }
  Atomics.add(control, FINISHED, 1);
  Atomics.notify(control, FINISHED);
}
`;

export class GemmPool implements ParallelGemm {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private data = new Float32Array(new SharedArrayBuffer(1 << 20));
  private readonly ports: import('node:worker_threads').MessagePort[] = [];
  private readonly workers: import('node:worker_threads').Worker[] = [];

  private constructor(
    threads: WorkerThreads,
    readonly threadCount: number,
  ) {
    for (let index = 0; index < threadCount; index++) {
      const { port1, port2 } = new threads.MessageChannel();
      const worker = new threads.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { control: this.control.buffer, port: port2, index },
        transferList: [port2],
      });
      worker.unref(); // idle workers must not keep the process alive
      port1.postMessage(this.data.buffer);
      this.ports.push(port1);
      this.workers.push(worker);
    }
  }

  /** Waits until every worker has loaded; false if one did not within `timeoutMs` (it then never will). */
  private waitUntilReady(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (let ready = Atomics.load(this.control, READY); ready < this.workers.length; ready = Atomics.load(this.control, READY)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.control, READY, ready, left);
    }
    return true;
  }

  /** A pool of `threadCount` worker threads, or null where worker_threads is missing or they fail to start. */
  static create(threadCount: number): GemmPool | null {
    if (threadCount <= 1) return null;
    const threads = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
      'node:worker_threads',
    ) as WorkerThreads | undefined;
    if (!threads) return null;
    const pool = new GemmPool(threads, threadCount);
    if (pool.waitUntilReady(10_000)) return pool;
    for (const worker of pool.workers) void worker.terminate();
    return null;
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
    const control = this.control;
    control[BATCH] = batch;
    control[M] = m;
    control[N] = n;
    control[K] = k;
    control[A_BATCHED] = aBatched ? 1 : 0;
    control[B_BATCHED] = bBatched ? 1 : 0;
    control[B_OFFSET] = a.length;
    control[C_OFFSET] = a.length + b.length;
    control[THREADS] = this.threadCount;
    Atomics.store(control, FINISHED, 0);
    Atomics.add(control, SEQUENCE, 1);
    Atomics.notify(control, SEQUENCE);
    for (let done = Atomics.load(control, FINISHED); done < this.threadCount; done = Atomics.load(control, FINISHED)) {
      // A bounded wait: a worker that died must fail this call, not hang the process.
      if (Atomics.wait(control, FINISHED, done, WORKER_TIMEOUT_MS) === 'timed-out') {
        throw new Error(
          `a GEMM worker thread did not finish within ${WORKER_TIMEOUT_MS / 1000} s; create the CPU backend with { threads: 1 } to run without them`,
        );
      }
    }
    if (Atomics.load(control, FAILED))
      throw new Error('a GEMM worker thread failed; create the CPU backend with { threads: 1 } to run without them');
    return data.slice(a.length + b.length, a.length + b.length + cSize);
  }
}
