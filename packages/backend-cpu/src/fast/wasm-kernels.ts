/**
 * The WASM kernels' runtime: one shared WasmMemory (wasm-heap.ts), the module instantiated over it
 * on the calling thread and on `threads − 1` worker threads (wasm-tiles.ts), the weights kept in it
 * between calls (wasm-operands.ts), and the calls of the elementwise kernels, which copy their
 * operands in, run on the calling thread and copy the result out.
 */
import { FP8_FORMATS, type Fp8Format, fp8 } from '@octet/core';
import { workerThreadsModule } from '../worker-pool.js';
import { type WasmMemory, type WasmModule, wasmApi } from './wasm-api.js';
import { FP8_ORDER, type KernelExports } from './wasm-exports.js';
import { Heap, MAX_PAGES, PAGE, SCRATCH, SCRATCH_BYTES, TABLES } from './wasm-heap.js';
import { type CachedOperand, type MatvecOperand, OperandCache } from './wasm-operands.js';
import { type Job, TileScheduler } from './wasm-tiles.js';

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
  private readonly heap: Heap;
  private readonly operands: OperandCache;
  private readonly tiles: TileScheduler;
  /** Encode tables (fp8.encodeTable) copied into the memory on first use, by format and saturation. */
  private readonly encodeTables = new Map<string, number>();

  constructor(module: WasmModule, { threads, timeoutMs = 60_000 }: WasmKernelsOptions) {
    const threadCount = threads > 1 && workerThreadsModule() ? threads : 1;
    const heapStart = SCRATCH + threadCount * SCRATCH_BYTES;
    this.memory = new wasmApi.Memory({ initial: heapStart / PAGE + 16, maximum: MAX_PAGES, shared: true });
    this.kernels = new wasmApi.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.relaxedSimd = this.kernels.relaxedSimd() === 1;
    this.heap = new Heap(this.memory, heapStart);
    this.operands = new OperandCache(this.heap, this.kernels);
    const tables = new Float32Array(this.memory.buffer, TABLES, 4 * 256);
    for (const [i, format] of FP8_ORDER.entries()) tables.set(fp8.decodeTable(format), i * 256);
    this.tiles = new TileScheduler(this.kernels, module, this.memory, threadCount - 1, timeoutMs);
  }

  /** Threads that run jobs (the caller included). */
  get threadCount(): number {
    return this.tiles.threadCount;
  }

  /** Stops the workers; the kernels then run on the calling thread. */
  terminate(): void {
    this.tiles.terminate();
  }

  /** Test hook: the workers, to make one of them fail or vanish. */
  get workerThreadsForTesting(): readonly import('node:worker_threads').Worker[] {
    return this.tiles.workersForTesting;
  }

  /** Whether a job of this many multiply-adds runs on every thread (else on the caller alone, as one tile will do). */
  parallel(multiplyAdds: number): boolean {
    return this.tiles.parallel(multiplyAdds);
  }

  /** Runs `job` on every thread; returns when all its tiles are done. */
  run(job: Job): void {
    this.tiles.run(job);
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
    return this.heap.copyIn(values);
  }

  /** Copies `out.byteLength` bytes at `ptr` into `out` (f32 or f64 values); returns it. */
  copyOut<T extends Float32Array | Float64Array>(ptr: number, out: T): T {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(this.memory.buffer, ptr, out.byteLength));
    return out;
  }

  /** True when FP8 codes at `ptr` hold NaN or infinity codes (those need the exact table decode). */
  hasSpecialCodes(ptr: number, length: number, format: number): boolean {
    return this.operands.hasSpecialCodes(ptr, length, format);
  }

  /** See `OperandCache.operand`. */
  operand(key: object, values: ArrayBufferView, format: number): CachedOperand & { owned: boolean } {
    return this.operands.operand(key, values, format);
  }

  /** See `OperandCache.packed`. */
  packed(key: object, values: ArrayBufferView, format: number, kContig: boolean, N: number, K: number): number | null {
    return this.operands.packed(key, values, format, kContig, N, K);
  }

  /** See `OperandCache.matvecOperand`. */
  matvecOperand(key: object, values: ArrayBufferView, format: number, N: number, K: number, kContig: boolean): MatvecOperand {
    return this.operands.matvecOperand(key, values, format, N, K, kContig);
  }

  /** Frees what the memory keeps for `key` (its storage was freed) at once, rather than when it is collected. */
  forget(key: object): void {
    this.operands.forget(key);
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
      table = this.heap.copyIn(fp8.encodeTable(format, { saturate }));
      this.encodeTables.set(key, table);
    }
    const xPtr = this.heap.copyIn(x);
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
    const ptrs = inputs.map((values) => this.heap.copyIn(values));
    const outPtr = this.heap.alloc(out.byteLength);
    try {
      kernel(ptrs, outPtr);
      return this.copyOut(outPtr, out);
    } finally {
      for (const ptr of [...ptrs, outPtr]) this.heap.free(ptr);
    }
  }
}
