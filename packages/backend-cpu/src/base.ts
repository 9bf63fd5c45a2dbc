/**
 * The CPU backend's storage: each tensor's values live in a host TypedArray. Kernels read inputs
 * with `values(info)` and wrap results with `output(...)`.
 */

import {
  type AnyTypedArray,
  type Backend,
  type DataId,
  type DType,
  defineKernel,
  type KernelConfig,
  type KernelName,
  kernelTable,
  type TensorInfo,
  type TypedKernelFunction,
} from '@octet/core';
import type { WasmModule } from './fast/wasm-api.js';
import { WasmKernels } from './fast/wasm-kernels.js';
import { GemmPool } from './gemm-pool.js';

/** The storage handle: the values themselves, behind an object the engine treats as opaque. */
export class CpuData {
  constructor(readonly values: AnyTypedArray) {}
}

export function values<T extends AnyTypedArray = Float32Array>(info: TensorInfo): T {
  return (info.dataId as CpuData).values as T;
}

export function output(values: AnyTypedArray, shape: readonly number[], dtype: DType = 'float32'): TensorInfo {
  return { dataId: new CpuData(values), shape, dtype };
}

/**
 * Freed f32 storage waits here for the next f32 output that fits instead of going to the garbage
 * collector: typed arrays live outside the JS heap, so allocating one costs microseconds (page
 * faults, for large ones) and collecting them showed up in every profile. At most this many bytes
 * wait, the longest-waiting going first to make room (the sizes a prompt needs are not the ones
 * decoding needs); the engine's memory counts leave them out. A training step of the default GPT
 * frees more than 128 MiB: with this set to 64 MiB, `train-cpu` read 2483–3074 tokens/s (f32)
 * against 3426–3771 with 512 MiB in alternating runs; 256 MiB read as 512.
 */
export const RECYCLED_BYTES_LIMIT = 256 * 1024 * 1024;
/** Free storage by capacity in floats, and all of it in the order it was freed (a Set keeps insertion order). */
const recycled = new Map<number, Float32Array[]>();
const waiting = new Set<Float32Array>();
let recycledBytes = 0;
/** Buffers handed out as a shorter view (a size class larger than the output). */
const classBuffers = new WeakSet<ArrayBuffer>();

/**
 * Storage of at least this many floats comes in size classes, four per power of two (at most a
 * quarter unused), so outputs whose length changes every step (a growing KV cache, attention
 * scores) find freed storage too. Shorter arrays go by exact length.
 */
const SIZE_CLASSES_FROM = 4096;

function sizeClass(length: number): number {
  if (length < SIZE_CLASSES_FROM) return length;
  const quarter = 2 ** (Math.floor(Math.log2(length)) - 2);
  return Math.ceil(length / quarter) * quarter;
}

export type TypedArrayKind<T extends AnyTypedArray> = { new (length: number): T };

/** f32 storage for `length` floats: recycled (as it was left) when some fits, else new (zeros). */
function f32Storage(length: number): { values: Float32Array; reused: boolean } {
  const capacity = sizeClass(length);
  let whole = recycled.get(capacity)?.pop();
  const reused = whole !== undefined;
  if (whole !== undefined) {
    waiting.delete(whole);
    recycledBytes -= whole.byteLength;
  } else whole = new Float32Array(capacity);
  if (capacity === length) return { values: whole, reused };
  classBuffers.add(whole.buffer as ArrayBuffer);
  return { values: new Float32Array(whole.buffer, 0, length), reused };
}

/** A zero-filled array for a kernel's output (recycled f32 storage when some fits). */
export function allocate<T extends AnyTypedArray>(kind: TypedArrayKind<T>, length: number): T {
  if (kind !== (Float32Array as unknown)) return new kind(length);
  const { values, reused } = f32Storage(length);
  return (reused ? values.fill(0) : values) as T;
}

/**
 * `allocate` without clearing recycled storage, for kernels that write every element of their
 * output (clearing showed up in decode profiles).
 */
export function allocateUninitialized<T extends AnyTypedArray>(kind: TypedArrayKind<T>, length: number): T {
  if (kind !== (Float32Array as unknown)) return new kind(length);
  return f32Storage(length).values as T;
}

/**
 * Takes back an f32 array nothing refers to any more: whole and unshared, or a view `allocate`
 * made of a size-class buffer; while under the limit.
 */
export function recycle(values: AnyTypedArray): void {
  if (!(values instanceof Float32Array) || values.byteOffset !== 0 || !(values.buffer instanceof ArrayBuffer)) return;
  const { buffer } = values;
  const capacity = buffer.byteLength / 4;
  if (capacity !== values.length && !classBuffers.has(buffer)) return; // a view into storage someone else holds
  if (capacity < 16 || sizeClass(capacity) !== capacity || buffer.byteLength > RECYCLED_BYTES_LIMIT) return;
  while (recycledBytes + buffer.byteLength > RECYCLED_BYTES_LIMIT) evictOldest();
  const whole = capacity === values.length ? values : new Float32Array(buffer);
  const free = recycled.get(capacity);
  if (free) free.push(whole);
  else recycled.set(capacity, [whole]);
  waiting.add(whole);
  recycledBytes += buffer.byteLength;
}

/** Lets the storage that has waited longest go to the garbage collector. */
function evictOldest(): void {
  const oldest = waiting.values().next().value!;
  waiting.delete(oldest);
  const free = recycled.get(oldest.length)!;
  free.splice(free.indexOf(oldest), 1);
  recycledBytes -= oldest.byteLength;
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly kernels;
  /** The WASM SIMD kernels and their threads; null for the reference kernels alone. */
  readonly wasm: WasmKernels | null;
  /** Spreads the reference kernels' large GEMMs over the cores; null when single-threaded or when the WASM kernels run. */
  readonly gemmPool: GemmPool | null;
  /** Matmuls with fewer multiply-adds run on the reference kernels (the WASM call and copies would cost more). */
  readonly minWasmWork: number;

  constructor(
    configs: readonly KernelConfig[],
    { threads = 1, wasmModule = null, minWasmWork = 0 }: { threads?: number; wasmModule?: WasmModule | null; minWasmWork?: number } = {},
  ) {
    this.kernels = kernelTable(configs);
    this.minWasmWork = minWasmWork;
    this.wasm = wasmModule ? new WasmKernels(wasmModule, { threads }) : null;
    this.gemmPool = this.wasm ? null : GemmPool.create(threads);
  }

  /** Threads that run matmuls (1: the calling thread only). */
  get threads(): number {
    return this.wasm?.threadCount ?? this.gemmPool?.threadCount ?? 1;
  }

  write(data: AnyTypedArray, shape: readonly number[], dtype: DType): TensorInfo {
    return output(data.slice(), shape, dtype);
  }

  async read(info: TensorInfo): Promise<AnyTypedArray> {
    return this.readSync(info);
  }

  readSync(info: TensorInfo): AnyTypedArray {
    return values<AnyTypedArray>(info).slice();
  }

  disposeData(dataId: DataId): void {
    // Kernels never hand out their storage (reads copy), so a freed tensor's array is free.
    recycle((dataId as CpuData).values);
    this.wasm?.forget(dataId);
  }

  memoryBytes(): number {
    return 0; // host arrays are owned by the garbage collector; the engine counts live tensor bytes
  }
}

/** Core's `defineKernel` for this backend: each kernel's inputs and attributes typed by its contract, `backend` a CpuBackend. */
export function defineCpuKernel<K extends KernelName>(kernelName: K, kernelFunc: TypedKernelFunction<K, CpuBackend>): KernelConfig {
  return defineKernel(kernelName, kernelFunc);
}
