/**
 * A backend is storage plus a table of kernels. Storage handles are opaque `DataId`s; kernels take
 * `TensorInfo`s (handle + shape + dtype) and return new ones. Only reading data back is async, so a
 * GPU backend never blocks the caller per op.
 */
import type { KernelAttrs, KernelInputs, KernelName } from './kernel-names.js';

export type DType = 'float32' | 'int32' | 'uint8';
export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint8Array;

/** An opaque storage handle owned by one backend. */
export type DataId = object;

export interface TensorInfo {
  readonly dataId: DataId;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface KernelArgs<I = Record<string, TensorInfo | TensorInfo[]>, A = Record<string, unknown>, B extends Backend = Backend> {
  inputs: I;
  attrs: A;
  /** The backend running the kernel (a kernel may narrow this to its own backend class). */
  backend: B;
}

// biome-ignore lint/suspicious/noExplicitAny: kernels are typed by their own Inputs/Attrs interfaces and backend class.
export type KernelFunction = (args: KernelArgs<any, any, any>) => TensorInfo;

export interface KernelConfig {
  kernelName: KernelName;
  kernelFunc: KernelFunction;
}

/** One kernel's function, typed by its contract in kernel-names.ts and by the backend `B` that runs it. */
export type TypedKernelFunction<K extends KernelName, B extends Backend = Backend> = (
  args: KernelArgs<KernelInputs<K>, KernelAttrs<K>, B>,
) => TensorInfo;

/**
 * A kernel's config, with its inputs and attributes typed by the contract: a misspelt input or
 * attribute is a type error. A backend passes its own class as `B` (see backend-cpu's `defineCpuKernel`).
 */
export function defineKernel<K extends KernelName, B extends Backend = Backend>(
  kernelName: K,
  kernelFunc: TypedKernelFunction<K, B>,
): KernelConfig {
  return { kernelName, kernelFunc: kernelFunc as KernelFunction };
}

export interface Backend {
  readonly name: string;
  /**
   * Set when the backend's device is emulated in software, e.g. 'SwiftShader': what it runs on.
   * `bestBackend()` passes over such a backend while a lower-priority one starts.
   */
  readonly emulated?: string;
  /** Copies host data into new backend storage. */
  write(values: AnyTypedArray, shape: readonly number[], dtype: DType): TensorInfo;
  /** Reads a tensor's data back to the host. */
  read(info: TensorInfo): Promise<AnyTypedArray>;
  /** Synchronous read, for backends whose storage is host memory (the CPU). */
  readSync?(info: TensorInfo): AnyTypedArray;
  /** Frees storage. Called once per DataId when its last tensor is disposed. */
  disposeData(dataId: DataId): void;
  /** Bytes held by this backend. */
  memoryBytes(): number;
  readonly kernels: ReadonlyMap<KernelName, KernelFunction>;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, int32: 4, uint8: 1 };

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function makeTypedArray(dtype: DType, length: number): AnyTypedArray {
  if (dtype === 'float32') return new Float32Array(length);
  if (dtype === 'int32') return new Int32Array(length);
  return new Uint8Array(length);
}

/** Builds the kernel table from an explicit list of configs (one registration list per backend). */
export function kernelTable(configs: readonly KernelConfig[]): Map<KernelName, KernelFunction> {
  const table = new Map<KernelName, KernelFunction>();
  for (const { kernelName, kernelFunc } of configs) table.set(kernelName, kernelFunc);
  return table;
}
