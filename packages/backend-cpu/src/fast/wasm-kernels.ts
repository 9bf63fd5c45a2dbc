/**
 * The WASM kernels' runtime: one shared WasmMemory, the module instantiated over it on the
 * calling thread and on `threads − 1` long-lived worker threads, and a small allocator for it.
 *
 * A call copies its operands into the memory, splits the output into tiles and lets every thread
 * (the caller included) take tiles from one atomic counter until none are left, then copies the
 * result out. Copies are O(n²) against the GEMM's O(n³). Matrix × vector is O(n²) too, so a
 * weight seen a second time stays in the memory, keyed by its storage object, which no kernel
 * ever writes; it is freed when that object is garbage-collected.
 *
 * Workers sleep on an Atomics counter between calls (no thread start-up or message round trip per
 * call); the caller's waits are bounded and a worker's failure is flagged, so nothing hangs.
 * Workers never keep views of the memory from JS: the kernels read it from inside WASM, which
 * always sees the grown memory, so a grow cannot leave a worker on a stale buffer.
 */
import { FP8_FORMATS, type Fp8Format, fp8 } from '@octet/core';
import { type WasmMemory, type WasmModule, wasmApi } from './wasm-api.js';

type WorkerThreads = typeof import('node:worker_threads');

/** The module's exports (wasm/MatMul.ts); pointers are byte offsets into the memory. */
export interface KernelExports {
  gemmTile(
    a: number,
    aFormat: number,
    aKContig: number,
    b: number,
    bFormat: number,
    bKContig: number,
    bPacked: number,
    c: number,
    M: number,
    N: number,
    K: number,
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    scale: number,
    tables: number,
    packedA: number,
    packedB: number,
  ): void;
  matvecRows(
    x: number,
    M: number,
    b: number,
    format: number,
    c: number,
    N: number,
    K: number,
    n0: number,
    n1: number,
    post: number,
    scale: number,
    tables: number,
    useTable: number,
    fixups: number,
    scratch: number,
  ): void;
  matvecCols(
    x: number,
    M: number,
    b: number,
    format: number,
    c: number,
    N: number,
    K: number,
    n0: number,
    n1: number,
    post: number,
    scale: number,
    tables: number,
    useTable: number,
    fixups: number,
  ): void;
  hasSpecialCodes(src: number, n: number, format: number): number;
  countSubnormalCodes(src: number, n: number, format: number): number;
  rewriteSubnormalCodes(b: number, format: number, kContig: number, N: number, K: number, fixups: number): void;
  packWeights(b: number, format: number, kContig: number, N: number, K: number, dst: number, tables: number): void;
  gelu(x: number, out: number, n: number): void;
  geluGrad(dy: number, x: number, out: number, n: number): void;
  softmax(x: number, out: number, rows: number, width: number, queries: number, causal: number): void;
  logSumExpParts(x: number, rows: number, width: number, out: number): void;
  binary(
    op: number,
    full: number,
    part: number,
    out: number,
    rows: number,
    n: number,
    partRowStep: number,
    partStep: number,
    swap: number,
  ): void;
  affine(x: number, out: number, n: number, scale: number, shift: number): void;
  unary(op: number, x: number, out: number, n: number): void;
  quantize(
    x: number,
    n: number,
    scale: number,
    out: number,
    mantissaBits: number,
    bias: number,
    maxExponent: number,
    maxCode: number,
    overflowCode: number,
    nanCode: number,
    negativeZeroMask: number,
    table: number,
  ): void;
  /** 1 in the relaxed SIMD build (fused multiply-adds in the matmuls), else 0. */
  relaxedSimd(): number;
}

/** Operand formats as the module numbers them: 0 is f32, then the FP8 formats (their decode table's index + 1). */
export const WASM_FORMAT: Readonly<Record<'f32' | Fp8Format, number>> = { f32: 0, e4m3fn: 1, e5m2: 2, e4m3fnuz: 3, e5m2fnuz: 4 };
const FP8_ORDER: readonly Fp8Format[] = ['e4m3fn', 'e5m2', 'e4m3fnuz', 'e5m2fnuz'];

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB; must match --maximumMemory in the build
const TABLES = 4096; // four 256-entry f32 decode tables
const SCRATCH = PAGE; // per-thread packing buffers from here
/** K-block depth and widest column tile of the GEMM (wasm/MatMul.ts packs KC × GEMM_TILE_COLS floats of B). */
const KC = 256;
export const GEMM_TILE_COLS = 512;
const SCRATCH_BYTES = Math.ceil(((4 * KC + KC * GEMM_TILE_COLS) * 4) / PAGE) * PAGE;

// Control words shared with the workers; job parameters follow from JOB.
const SEQUENCE = 0; // bumped once per job: wakes the workers
const FINISHED = 1; // workers done with the current job
const READY = 2; // workers that finished loading
const FAILED = 3; // set by a worker whose tiles threw
const NEXT_TILE = 4; // the tile counter every thread takes from
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
 * control words by number (the JOB layout written by `WasmKernels.run`).
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

// The worker's whole program: instantiate the module over the shared memory, then take tiles of
// every job. A failure is flagged rather than thrown, so the waiting caller never hangs.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const [SEQUENCE, FINISHED, READY, FAILED] = [${[SEQUENCE, FINISHED, READY, FAILED].join(', ')}];
${runTiles.toString()}
const control = new Int32Array(workerData.control);
const floats = new Float32Array(workerData.control);
const kernels = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
let seen = 0;
Atomics.add(control, READY, 1);
Atomics.notify(control, READY);
for (;;) {
  Atomics.wait(control, SEQUENCE, seen);
  seen = Atomics.load(control, SEQUENCE);
  try {
    runTiles(kernels, control, floats, workerData.index);
  } catch (error) {
    Atomics.store(control, FAILED, 1);
  }
  Atomics.add(control, FINISHED, 1);
  Atomics.notify(control, FINISHED);
}
`;

/**
 * Below this many multiply-adds a job is not worth waking the workers for (measured on 2 cores:
 * FP8 8×512×128, 2^19, takes as long on two threads as on one; 32×512×128, 2^21, is 1.3× faster).
 */
const MIN_PARALLEL_WORK = 1 << 20;

/** A weight kept in the memory: where, and whether its codes need the exact table decode. */
interface CachedOperand {
  ptr: number;
  bytes: number;
  useTable: boolean;
  /** Set once matrix × vector has rewritten the codes' subnormals (ptr 0: it found none). */
  fixups?: SubnormalFixups;
}

/** Where `rewriteSubnormalCodes` found subnormal codes (wasm/MatMul.ts), for one layout of the weight. */
interface SubnormalFixups {
  ptr: number;
  bytes: number;
  N: number;
  K: number;
  kContig: boolean;
}

/** A weight as matrix × vector reads it: its codes, and the fixups of their rewritten subnormals (or 0). */
export interface MatvecOperand {
  ptr: number;
  useTable: boolean;
  fixups: number;
  /** Copied for this call: the caller frees `ptr` and `fixups`. */
  owned: boolean;
}

/** A weight kept decoded and packed for the GEMM (`packWeights`), for one orientation. */
interface PackedOperand {
  ptr: number;
  bytes: number;
  kContig: boolean;
}

/** Most bytes of weights kept in the memory between calls, as codes and as packed panels each. */
const CACHE_LIMIT = 512 * 2 ** 20;

export interface WasmKernelsOptions {
  threads: number;
  /** Longest a job may take before the caller gives up on its workers. */
  timeoutMs?: number;
}

export class WasmKernels {
  readonly memory: WasmMemory;
  /** True when the module is the relaxed SIMD build (dist/kernels-relaxed.wasm). */
  readonly relaxedSimd: boolean;
  private readonly kernels: KernelExports;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly floats = new Float32Array(this.control.buffer);
  private readonly workers: import('node:worker_threads').Worker[] = [];
  private readonly timeoutMs: number;
  private broken: string | null = null;
  private readonly heap: Heap;
  private readonly cache = new WeakMap<object, CachedOperand>();
  private readonly seenOnce = new WeakSet<object>();
  private cachedBytes = 0;
  /** Weights packed for the GEMM, and the way (`kContig`) each weight was last used unpacked. */
  private readonly packedCache = new WeakMap<object, PackedOperand>();
  private readonly unpackedUse = new WeakMap<object, boolean>();
  private packedBytes = 0;
  /** Encode tables (fp8.encodeTable) copied into the memory on first use, by format and saturation. */
  private readonly encodeTables = new Map<string, number>();
  private readonly release = new FinalizationRegistry<CachedOperand | PackedOperand>((entry) => this.drop(entry));

  constructor(module: WasmModule, { threads, timeoutMs = 60_000 }: WasmKernelsOptions) {
    const workerThreads = threads > 1 ? workerThreadsModule() : undefined;
    const threadCount = workerThreads ? threads : 1;
    const heapStart = SCRATCH + threadCount * SCRATCH_BYTES;
    this.memory = new wasmApi.Memory({ initial: heapStart / PAGE + 16, maximum: MAX_PAGES, shared: true });
    this.kernels = new wasmApi.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.relaxedSimd = this.kernels.relaxedSimd() === 1;
    this.heap = new Heap(this.memory, heapStart);
    this.timeoutMs = timeoutMs;
    const tables = new Float32Array(this.memory.buffer, TABLES, 4 * 256);
    for (const [i, format] of FP8_ORDER.entries()) tables.set(fp8.decodeTable(format), i * 256);
    if (workerThreads) this.startWorkers(workerThreads, module, threadCount - 1);
  }

  private startWorkers(workerThreads: WorkerThreads, module: WasmModule, count: number): void {
    for (let index = 1; index <= count; index++) {
      const worker = new workerThreads.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { control: this.control.buffer, memory: this.memory, module, index },
      });
      worker.unref(); // idle workers must not keep the process alive
      this.workers.push(worker);
    }
    if (!this.waitUntilReady(10_000)) {
      for (const worker of this.workers) void worker.terminate();
      this.workers.length = 0; // run on the calling thread alone
    }
  }

  /** Threads that run jobs (the caller included). */
  get threadCount(): number {
    return this.workers.length + 1;
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

  /** Stops the workers; the kernels then run on the calling thread. */
  terminate(): void {
    for (const worker of this.workers) void worker.terminate();
    this.workers.length = 0;
  }

  /** Test hook: the workers, to make one of them fail or vanish. */
  get workerThreadsForTesting(): readonly import('node:worker_threads').Worker[] {
    return this.workers;
  }

  alloc(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  free(ptr: number): void {
    this.heap.free(ptr);
  }

  /** A fresh view of the memory (it may have grown since the last one). */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** Copies `values` into newly allocated memory; returns its offset. */
  copyIn(values: ArrayBufferView): number {
    const ptr = this.heap.alloc(values.byteLength);
    this.bytes().set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), ptr);
    return ptr;
  }

  /** Copies `out.byteLength` bytes at `ptr` into `out` (f32 or f64 values); returns it. */
  copyOut<T extends Float32Array | Float64Array>(ptr: number, out: T): T {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(this.memory.buffer, ptr, out.byteLength));
    return out;
  }

  /** True when FP8 codes at `ptr` hold NaN or infinity codes (those need the exact table decode). */
  hasSpecialCodes(ptr: number, length: number, format: number): boolean {
    return format !== 0 && this.kernels.hasSpecialCodes(ptr, length, format) !== 0;
  }

  /**
   * The operand `values` (owned by `key`) in the memory. A weight seen before stays there (keyed by
   * its storage object, which kernels never write) until that object is collected; other operands
   * are copied for this call alone (`owned`: the caller frees them).
   */
  operand(key: object, values: ArrayBufferView, format: number): CachedOperand & { owned: boolean } {
    const cached = this.cache.get(key);
    if (cached && !cached.fixups?.ptr) return { ...cached, owned: false };
    const ptr = this.copyIn(values);
    if (cached) return { ptr, bytes: cached.bytes, useTable: cached.useTable, owned: true }; // the resident codes were rewritten
    const entry = { ptr, bytes: values.byteLength, useTable: this.hasSpecialCodes(ptr, values.byteLength, format) };
    if (!this.seenOnce.has(key)) {
      this.seenOnce.add(key);
      return { ...entry, owned: true };
    }
    if (this.cachedBytes + entry.bytes > CACHE_LIMIT) return { ...entry, owned: true };
    this.cache.set(key, entry);
    this.cachedBytes += entry.bytes;
    this.release.register(key, entry, entry);
    return { ...entry, owned: false };
  }

  /**
   * B of a GEMM (N × K, or K × N unless `kContig`) decoded to f32 and packed once, 4 bytes per
   * element, for a weight that comes back the same way: every later GEMM skips the decode and
   * packing, the bound of GEMMs with few rows (a decode batch, a prompt). The first use of each
   * orientation packs per call as usual (a training weight is used once each way, then replaced).
   * Null: pack per call.
   */
  packed(key: object, values: ArrayBufferView, format: number, kContig: boolean, N: number, K: number): number | null {
    const cached = this.packedCache.get(key);
    if (cached) return cached.kContig === kContig ? cached.ptr : null;
    if (this.unpackedUse.get(key) !== kContig) {
      this.unpackedUse.set(key, kContig);
      return null;
    }
    const bytes = K * Math.ceil(N / 8) * 8 * 4;
    if (this.packedBytes + bytes > CACHE_LIMIT) return null;
    const source = this.operand(key, values, format);
    const entry: PackedOperand = { ptr: this.heap.alloc(bytes), bytes, kContig };
    try {
      this.kernels.packWeights(source.ptr, format, kContig ? 1 : 0, N, K, entry.ptr, TABLES);
    } finally {
      if (source.owned) this.heap.free(source.ptr);
    }
    this.packedCache.set(key, entry);
    this.packedBytes += entry.bytes;
    this.release.register(key, entry, entry);
    return entry.ptr;
  }

  /**
   * A weight's codes for matrix × vector: as `operand`, but with their subnormal codes rewritten
   * and listed (wasm/MatMul.ts) for B stored N × K (`kContig`) or K × N, so the kernel's decode
   * never makes a subnormal f32. A resident weight is rewritten once (later GEMMs get fresh copies).
   */
  matvecOperand(key: object, values: ArrayBufferView, format: number, N: number, K: number, kContig: boolean): MatvecOperand {
    const cached = this.cache.get(key);
    const fixups = cached?.fixups;
    if (fixups && (fixups.ptr === 0 || (fixups.N === N && fixups.K === K && fixups.kContig === kContig))) {
      return { ptr: cached.ptr, useTable: cached.useTable, fixups: fixups.ptr, owned: false };
    }
    const operand = this.operand(key, values, format);
    if (format === 0 || operand.useTable) return { ptr: operand.ptr, useTable: operand.useTable, fixups: 0, owned: operand.owned };
    const count = this.kernels.countSubnormalCodes(operand.ptr, N * K, format);
    const rewritten: SubnormalFixups = { ptr: 0, bytes: 0, N, K, kContig };
    if (count > 0) {
      rewritten.bytes = (N + 1 + count) * 4;
      rewritten.ptr = this.heap.alloc(rewritten.bytes);
      this.kernels.rewriteSubnormalCodes(operand.ptr, format, kContig ? 1 : 0, N, K, rewritten.ptr);
    }
    if (!operand.owned) {
      const entry = this.cache.get(key)!;
      entry.fixups = rewritten;
      this.cachedBytes += rewritten.bytes;
    }
    return { ptr: operand.ptr, useTable: false, fixups: rewritten.ptr, owned: operand.owned };
  }

  /** Frees what the memory keeps for `key` (its storage was freed) at once, rather than when it is collected. */
  forget(key: object): void {
    for (const entry of [this.cache.get(key), this.packedCache.get(key)]) {
      if (entry === undefined) continue;
      this.release.unregister(entry);
      this.drop(entry);
    }
    this.cache.delete(key);
    this.packedCache.delete(key);
  }

  private drop(entry: CachedOperand | PackedOperand): void {
    this.heap.free(entry.ptr);
    if (!('useTable' in entry)) {
      this.packedBytes -= entry.bytes;
      return;
    }
    this.cachedBytes -= entry.bytes + (entry.fixups?.bytes ?? 0);
    if (entry.fixups?.ptr) this.heap.free(entry.fixups.ptr);
  }

  /** out[i] = gelu(x[i]) (wasm/Gelu.ts), on the calling thread; returns `out`. */
  gelu(x: Float32Array, out: Float32Array): Float32Array {
    return this.elementwise([x], out, (ptrs, outPtr) => this.kernels.gelu(ptrs[0]!, outPtr, out.length));
  }

  /** out[i] = dy[i] · gelu′(x[i]) (wasm/Gelu.ts), on the calling thread; returns `out`. */
  geluGrad(dy: Float32Array, x: Float32Array, out: Float32Array): Float32Array {
    return this.elementwise([dy, x], out, (ptrs, outPtr) => this.kernels.geluGrad(ptrs[0]!, ptrs[1]!, outPtr, out.length));
  }

  /**
   * out = full op part with `part` broadcast as wasm/Elementwise.ts describes (rows × n values;
   * op 0 add, 1 sub, 2 mul, 3 div; `swap`: part op full), on the calling thread; returns `out`.
   */
  binary(
    op: number,
    full: Float32Array,
    part: Float32Array,
    out: Float32Array,
    { rows, n, partRowStep, partStep, swap }: { rows: number; n: number; partRowStep: number; partStep: number; swap: boolean },
  ): Float32Array {
    return this.elementwise([full, part], out, (ptrs, outPtr) =>
      this.kernels.binary(op, ptrs[0]!, ptrs[1]!, outPtr, rows, n, partRowStep, partStep, swap ? 1 : 0),
    );
  }

  /** out[i] = x[i] · scale + shift (in f64, as the reference), on the calling thread; returns `out`. */
  affine(x: Float32Array, out: Float32Array, scale: number, shift: number): Float32Array {
    return this.elementwise([x], out, (ptrs, outPtr) => this.kernels.affine(ptrs[0]!, outPtr, out.length, scale, shift));
  }

  /** out[i] = op(x[i]) for op 0 neg, 1 square, 2 sqrt, 3 rsqrt (wasm/Elementwise.ts), on the calling thread; returns `out`. */
  unary(op: number, x: Float32Array, out: Float32Array): Float32Array {
    return this.elementwise([x], out, (ptrs, outPtr) => this.kernels.unary(op, ptrs[0]!, outPtr, out.length));
  }

  /** Softmax of each `width`-long row of x into `out` (wasm/Softmax.ts; `queries` as kernels/Softmax.ts), on the calling thread. */
  softmax(x: Float32Array, out: Float32Array, width: number, queries: number, causal: boolean): Float32Array {
    return this.elementwise([x], out, (ptrs, outPtr) =>
      this.kernels.softmax(ptrs[0]!, outPtr, out.length / width, width, queries, causal ? 1 : 0),
    );
  }

  /** Per `width`-long row of x: its largest value and Σ e^(x − largest), as pairs (wasm/Softmax.ts), on the calling thread. */
  logSumExpParts(x: Float32Array, width: number): Float64Array {
    const rows = x.length / width;
    return this.elementwise([x], new Float64Array(2 * rows), (ptrs, outPtr) => this.kernels.logSumExpParts(ptrs[0]!, rows, width, outPtr));
  }

  /** FP8 codes of x · scale (wasm/Quantize.ts: the codes of core's codec), on the calling thread. */
  quantize(x: Float32Array, scale: number, format: Fp8Format, saturate: boolean): Uint8Array {
    const info = FP8_FORMATS[format];
    const key = `${format}:${saturate}`;
    let table = this.encodeTables.get(key);
    if (table === undefined) {
      table = this.copyIn(fp8.encodeTable(format, { saturate }));
      this.encodeTables.set(key, table);
    }
    const xPtr = this.copyIn(x);
    const outPtr = this.heap.alloc(x.length);
    try {
      this.kernels.quantize(
        xPtr,
        x.length,
        scale,
        outPtr,
        info.mantissaBits,
        info.bias,
        info.maxExponent,
        info.maxCode,
        saturate ? info.maxCode : (info.infinityCode ?? info.nanCode),
        info.nanCode,
        info.hasNegativeZero ? 0x80 : 0,
        table,
      );
      const codes = new Uint8Array(x.length);
      codes.set(new Uint8Array(this.memory.buffer, outPtr, x.length));
      return codes;
    } finally {
      this.heap.free(xPtr);
      this.heap.free(outPtr);
    }
  }

  private elementwise<T extends Float32Array | Float64Array>(
    inputs: Float32Array[],
    out: T,
    kernel: (ptrs: number[], outPtr: number) => void,
  ): T {
    const ptrs = inputs.map((values) => this.copyIn(values));
    const outPtr = this.heap.alloc(out.byteLength);
    try {
      kernel(ptrs, outPtr);
      return this.copyOut(outPtr, out);
    } finally {
      for (const ptr of [...ptrs, outPtr]) this.heap.free(ptr);
    }
  }

  /** Whether a job of this many multiply-adds runs on every thread (else on the caller alone, as one tile will do). */
  parallel(multiplyAdds: number): boolean {
    return this.workers.length > 0 && multiplyAdds >= MIN_PARALLEL_WORK;
  }

  /** Runs `job` on every thread; returns when all its tiles are done. */
  run(job: Job): void {
    if (this.broken) throw new Error(this.broken);
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
    if (!parallel) {
      runTiles(this.kernels, control, this.floats, 0);
      return;
    }
    Atomics.store(control, FINISHED, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.add(control, SEQUENCE, 1);
    Atomics.notify(control, SEQUENCE);
    let failure: unknown = null;
    try {
      runTiles(this.kernels, control, this.floats, 0);
    } catch (error) {
      failure = error; // still wait: the workers are using the memory
    }
    const deadline = Date.now() + this.timeoutMs;
    for (let done = Atomics.load(control, FINISHED); done < this.workers.length; done = Atomics.load(control, FINISHED)) {
      const left = deadline - Date.now();
      // A bounded wait: a worker that died must fail this call, not hang the process.
      if (left <= 0 || Atomics.wait(control, FINISHED, done, left) === 'timed-out') {
        this.broken = `a CPU kernel worker thread did not finish within ${this.timeoutMs / 1000} s; create the CPU backend with { threads: 1 } to run without them`;
        this.terminate();
        throw new Error(this.broken);
      }
    }
    if (failure) throw failure;
    if (Atomics.load(control, FAILED)) {
      throw new Error('a CPU kernel worker thread failed; create the CPU backend with { threads: 1 } to run without them');
    }
  }
}

function workerThreadsModule(): WorkerThreads | undefined {
  return (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:worker_threads') as
    | WorkerThreads
    | undefined;
}

/**
 * First-fit allocator over the memory from `start` on, in 64-byte units; grows the memory when
 * nothing free fits. Allocation is rare (a few per kernel call), so a sorted free list suffices.
 */
class Heap {
  private readonly sizes = new Map<number, number>();
  private readonly freeList: { ptr: number; size: number }[] = [];
  private top: number;

  constructor(
    private readonly memory: WasmMemory,
    start: number,
  ) {
    this.top = start;
  }

  alloc(bytes: number): number {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    const index = this.freeList.findIndex((block) => block.size >= size);
    let ptr: number;
    if (index >= 0) {
      const block = this.freeList[index]!;
      ptr = block.ptr;
      if (block.size === size) this.freeList.splice(index, 1);
      else {
        block.ptr += size;
        block.size -= size;
      }
    } else {
      ptr = this.top;
      this.top += size;
      const needed = Math.ceil(this.top / PAGE) - this.memory.buffer.byteLength / PAGE;
      if (needed > 0) {
        const current = this.memory.buffer.byteLength / PAGE;
        const pages = Math.min(MAX_PAGES - current, Math.max(needed, current >> 1)); // grow by half, to grow rarely
        if (pages < needed) {
          this.top -= size;
          throw new Error(`the CPU backend's WASM memory is full: ${bytes} more bytes do not fit in ${(MAX_PAGES * PAGE) / 2 ** 30} GiB`);
        }
        this.memory.grow(pages);
      }
    }
    this.sizes.set(ptr, size);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    let at = this.freeList.findIndex((block) => block.ptr > ptr);
    if (at < 0) at = this.freeList.length;
    this.freeList.splice(at, 0, { ptr, size });
    // Merge with the next and the previous block, then give the last block back to the top.
    const next = this.freeList[at + 1];
    const block = this.freeList[at]!;
    if (next && block.ptr + block.size === next.ptr) {
      block.size += next.size;
      this.freeList.splice(at + 1, 1);
    }
    const previous = this.freeList[at - 1];
    if (previous && previous.ptr + previous.size === block.ptr) {
      previous.size += block.size;
      this.freeList.splice(at, 1);
    }
    const last = this.freeList[this.freeList.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.freeList.pop();
    }
  }
}
