/**
 * The CPU backend's storage: each tensor's values live in a host TypedArray. Kernels read inputs
 * with `values(info)` and wrap results with `output(...)`.
 */

import { type AnyTypedArray, type Backend, type DataId, type DType, type KernelConfig, kernelTable, type TensorInfo } from '@octet/core';
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
 * Freed f32 storage waits here for the next f32 array of the same length instead of going to the
 * garbage collector: typed arrays live outside the JS heap, so allocating one costs microseconds
 * and collecting them showed up in every profile. At most this many bytes wait; the engine's
 * memory counts leave them out.
 */
const RECYCLED_BYTES_LIMIT = 64 * 1024 * 1024;
const recycled = new Map<number, Float32Array[]>();
let recycledBytes = 0;

export type TypedArrayKind<T extends AnyTypedArray> = { new (length: number): T };

/** A zero-filled array for a kernel's output (recycled f32 storage when some of this length is free). */
export function allocate<T extends AnyTypedArray>(kind: TypedArrayKind<T>, length: number): T {
  if (kind !== (Float32Array as unknown)) return new kind(length);
  const reused = recycled.get(length)?.pop();
  if (reused === undefined) return new Float32Array(length) as T;
  recycledBytes -= reused.byteLength;
  return reused.fill(0) as T;
}

/** Takes back an f32 array nothing refers to any more (whole, unshared, while under the limit). */
export function recycle(values: AnyTypedArray): void {
  if (!(values instanceof Float32Array) || values.length < 16 || recycledBytes + values.byteLength > RECYCLED_BYTES_LIMIT) return;
  if (values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength || !(values.buffer instanceof ArrayBuffer)) return;
  const free = recycled.get(values.length);
  if (free) free.push(values);
  else recycled.set(values.length, [values]);
  recycledBytes += values.byteLength;
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
  }

  memoryBytes(): number {
    return 0; // host arrays are owned by the garbage collector; the engine counts live tensor bytes
  }
}
