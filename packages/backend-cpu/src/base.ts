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

  disposeData(_dataId: DataId): void {
    // Host arrays are reclaimed by the garbage collector once no tensor refers to them.
  }

  memoryBytes(): number {
    return 0; // host arrays are owned by the garbage collector; the engine counts live tensor bytes
  }
}
