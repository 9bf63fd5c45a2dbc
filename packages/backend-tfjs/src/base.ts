/**
 * The tfjs backend's storage: each tensor holds one tf.Tensor handle. float32 and int32 tensors map
 * to the same tfjs dtypes; uint8 FP8 codes are held as int32 (tfjs has no 8-bit dtype on every
 * engine) and read back as a Uint8Array. Kernels are tfjs op compositions run by `run`, inside
 * tf.tidy, so every intermediate is freed when the kernel returns.
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
  sizeOf,
  type TensorInfo,
  type TypedKernelFunction,
} from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsEngine } from './engine.js';

/** The storage handle: a tf.Tensor (int32 for uint8 codes). Views with another shape share it. */
export class TfjsData {
  constructor(readonly tensor: tf.Tensor) {}
}

export class TfjsBackend implements Backend {
  readonly name = 'tfjs';
  readonly kernels;
  private liveBytes = 0;
  /** Small constant tensors (FP8 tables, powers of two), made once and kept. */
  private readonly constants = new Map<string, tf.Tensor>();
  /** Handles owned by a TfjsData: a kernel returning one of them (an identity) must copy it. */
  private readonly owned = new WeakSet<tf.Tensor>();

  constructor(
    configs: readonly KernelConfig[],
    /** The tfjs engine every kernel runs on. */
    readonly engine: TfjsEngine,
    /** Why that engine runs, in one line. */
    readonly engineReason: string,
  ) {
    this.kernels = kernelTable(configs);
  }

  write(values: AnyTypedArray, shape: readonly number[], dtype: DType): TensorInfo {
    const size = sizeOf(shape);
    if (values.length !== size) throw new Error(`write: got ${values.length} values; allowed: ${size} for shape [${shape.join(', ')}]`);
    // Copied: the cpu engine would otherwise keep the caller's array as its storage.
    const data = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
    return this.wrap(tf.tensor(data, [...shape], dtype === 'float32' ? 'float32' : 'int32'), shape, dtype);
  }

  async read(info: TensorInfo): Promise<AnyTypedArray> {
    return this.convert(info, await this.data(info).tensor.data());
  }

  /** Synchronous read: tfjs blocks until the engine has the data (fine on wasm and cpu; a GPU stall elsewhere). */
  readSync(info: TensorInfo): AnyTypedArray {
    return this.convert(info, this.data(info).tensor.dataSync());
  }

  disposeData(dataId: DataId): void {
    if (!(dataId instanceof TfjsData)) throw new Error('disposeData: got storage of another backend; allowed: a tfjs tensor');
    this.liveBytes -= dataId.tensor.size * 4;
    dataId.tensor.dispose();
  }

  /** Bytes of the live tensors' storage (4 per element, uint8 codes included) plus the cached constants. */
  memoryBytes(): number {
    let bytes = this.liveBytes;
    for (const t of this.constants.values()) bytes += t.size * 4;
    return bytes;
  }

  /** The storage of a tensor of this backend. */
  data(info: TensorInfo): TfjsData {
    const data = info.dataId;
    if (!(data instanceof TfjsData)) {
      throw new Error(
        `tfjs kernel input: got a tensor stored by another backend (${info.dtype} [${info.shape.join(', ')}]); allowed: tfjs tensors`,
      );
    }
    return data;
  }

  /** The tf.Tensor of `info`, in `info`'s shape (a view costs no copy). Call inside `run`. */
  handle(info: TensorInfo): tf.Tensor {
    const { tensor } = this.data(info);
    const same = tensor.shape.length === info.shape.length && tensor.shape.every((d, i) => d === info.shape[i]);
    return same ? tensor : tf.reshape(tensor, [...info.shape]);
  }

  /**
   * Runs one kernel body inside tf.tidy and wraps its result as a new tensor of `dtype` (int32
   * storage for uint8). The result's shape is the tf.Tensor's unless `shape` is given.
   */
  run(dtype: DType, body: () => tf.Tensor, shape?: readonly number[]): TensorInfo {
    let result = tf.tidy(body);
    if (this.owned.has(result)) result = tf.clone(result);
    const storage = dtype === 'float32' ? 'float32' : 'int32';
    if (result.dtype !== storage) {
      const cast = tf.cast(result, storage);
      result.dispose();
      result = cast;
    }
    return this.wrap(result, shape ?? result.shape, dtype);
  }

  /** A constant tensor, made once per key and kept until the process ends. Safe inside `run`. */
  constant(key: string, make: () => tf.Tensor): tf.Tensor {
    let t = this.constants.get(key);
    if (t === undefined) {
      t = tf.keep(make());
      this.constants.set(key, t);
    }
    return t;
  }

  private wrap(tensor: tf.Tensor, shape: readonly number[], dtype: DType): TensorInfo {
    this.owned.add(tensor);
    this.liveBytes += tensor.size * 4;
    return { dataId: new TfjsData(tensor), shape: [...shape], dtype };
  }

  private convert(info: TensorInfo, values: tf.DataTypeMap[keyof tf.DataTypeMap]): AnyTypedArray {
    if (info.dtype === 'uint8') return Uint8Array.from(values as Int32Array);
    // Copied: the cpu engine hands out its own storage.
    return info.dtype === 'float32' ? Float32Array.from(values as Float32Array) : Int32Array.from(values as Int32Array);
  }
}

/** Core's `defineKernel` for this backend: each kernel's inputs and attributes typed by its contract, `backend` a TfjsBackend. */
export function defineTfjsKernel<K extends KernelName>(kernelName: K, kernelFunc: TypedKernelFunction<K, TfjsBackend>): KernelConfig {
  return defineKernel(kernelName, kernelFunc);
}
