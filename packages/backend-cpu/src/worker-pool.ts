/**
 * Long-lived worker threads that run one job at a time over shared memory, for both the reference
 * GEMM (gemm-pool.ts) and the WASM kernels (fast/wasm-tiles.ts). Node only (worker_threads).
 *
 * The protocol, on a shared Int32Array of control words: the caller writes the job's words (from
 * JOB on), bumps SEQUENCE and wakes the workers; each worker runs its part, counts itself in
 * FINISHED and wakes the caller. Workers sleep on SEQUENCE between jobs, so a job costs no thread
 * start-up and no message round trip. A worker whose part throws sets FAILED instead, and the
 * caller's waits are bounded, so nothing hangs.
 */

type WorkerThreads = typeof import('node:worker_threads');
type Worker = import('node:worker_threads').Worker;
type TransferListItem = import('node:worker_threads').TransferListItem;

const SEQUENCE = 0; // bumped once per job: wakes the workers
const FINISHED = 1; // workers done with the current job
const READY = 2; // workers that finished loading
const FAILED = 3; // set by a worker whose part threw
/** The first control word a pool's user may lay its job out in. */
export const JOB = 4;

/** How long a worker may take to load before the pool is given up on. */
const READY_TIMEOUT_MS = 10_000;

export interface WorkerPoolOptions {
  /** Names the workers in errors: "a GEMM worker thread failed". */
  label: string;
  /** Control words in all (the job's words from JOB on). */
  controlWords: number;
  /**
   * The workers' program: source defining `start(workerData, control)`, which loads what the worker
   * needs and returns `run(index)`, the part of each job that worker `index` (0-based) computes.
   */
  program: string;
  /** What each worker receives as `workerData` besides `control` and `index`, and what it is sent by transfer. */
  workerData: (index: number, threads: WorkerThreads) => { data: Record<string, unknown>; transferList?: TransferListItem[] };
  /** Longest a job may take before the caller gives up on the workers. */
  timeoutMs?: number;
}

/** The worker's whole program around the pool user's `start`. */
function workerSource(program: string): string {
  return `
const { workerData } = require('node:worker_threads');
${program}
const [SEQUENCE, FINISHED, READY, FAILED] = [${[SEQUENCE, FINISHED, READY, FAILED].join(', ')}];
const control = new Int32Array(workerData.control);
const run = start(workerData, control);
let seen = 0;
Atomics.add(control, READY, 1);
Atomics.notify(control, READY);
for (;;) {
  Atomics.wait(control, SEQUENCE, seen);
  seen = Atomics.load(control, SEQUENCE);
  try {
    run(workerData.index);
  } catch (error) {
    Atomics.store(control, FAILED, 1);
  }
  Atomics.add(control, FINISHED, 1);
  Atomics.notify(control, FINISHED);
}
`;
}

export class WorkerPool {
  /** The control words; `floats` views the same memory, for f32 job words. */
  readonly control: Int32Array;
  readonly floats: Float32Array;
  private readonly workers: Worker[] = [];
  private readonly label: string;
  private timeoutMs: number;
  private broken: string | null = null;

  private constructor(threads: WorkerThreads, count: number, options: WorkerPoolOptions) {
    this.control = new Int32Array(new SharedArrayBuffer(options.controlWords * 4));
    this.floats = new Float32Array(this.control.buffer);
    this.label = options.label;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const source = workerSource(options.program);
    for (let index = 0; index < count; index++) {
      const { data, transferList } = options.workerData(index, threads);
      const worker = new threads.Worker(source, { eval: true, workerData: { ...data, control: this.control.buffer, index }, transferList });
      worker.unref(); // idle workers must not keep the process alive
      this.workers.push(worker);
    }
  }

  /** `count` started workers, or null where worker_threads is missing or they fail to load. */
  static create(count: number, options: WorkerPoolOptions): WorkerPool | null {
    const threads = workerThreadsModule();
    if (count < 1 || !threads) return null;
    const pool = new WorkerPool(threads, count, options);
    if (pool.waitUntilReady(READY_TIMEOUT_MS)) return pool;
    pool.terminate();
    return null;
  }

  /** Workers running (none once terminated). */
  get size(): number {
    return this.workers.length;
  }

  /** Test hook: the workers, to make one of them fail or vanish. */
  get workersForTesting(): readonly Worker[] {
    return this.workers;
  }

  /** Waits until every worker has loaded; false if one did not within `timeoutMs`. */
  private waitUntilReady(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (let ready = Atomics.load(this.control, READY); ready < this.workers.length; ready = Atomics.load(this.control, READY)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.control, READY, ready, left);
    }
    return true;
  }

  /** Throws once a job timed out: the pool was given up on. */
  assertUsable(): void {
    if (this.broken) throw new Error(this.broken);
  }

  /** Runs the job in the control words on every worker, and `callerPart` (if any) meanwhile; returns when all are done. */
  run(callerPart?: () => void): void {
    this.assertUsable();
    const control = this.control;
    Atomics.store(control, FINISHED, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.add(control, SEQUENCE, 1);
    Atomics.notify(control, SEQUENCE);
    let failure: unknown = null;
    try {
      callerPart?.();
    } catch (error) {
      failure = error; // still wait: the workers are using the memory
    }
    const deadline = Date.now() + this.timeoutMs;
    for (let done = Atomics.load(control, FINISHED); done < this.workers.length; done = Atomics.load(control, FINISHED)) {
      const left = deadline - Date.now();
      // A bounded wait: a worker that died must fail this call, not hang the process.
      if (left <= 0 || Atomics.wait(control, FINISHED, done, left) === 'timed-out') {
        this.broken = `a ${this.label} worker thread did not finish within ${this.timeoutMs / 1000} s; create the CPU backend with { threads: 1 } to run without them`;
        this.terminate();
        throw new Error(this.broken);
      }
    }
    if (failure) throw failure;
    if (Atomics.load(control, FAILED)) {
      throw new Error(`a ${this.label} worker thread failed; create the CPU backend with { threads: 1 } to run without them`);
    }
  }

  /** Stops the workers. */
  terminate(): void {
    for (const worker of this.workers) void worker.terminate();
    this.workers.length = 0;
  }
}

/** Node's worker_threads, where there is one. */
export function workerThreadsModule(): WorkerThreads | undefined {
  return (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:worker_threads') as
    | WorkerThreads
    | undefined;
}
