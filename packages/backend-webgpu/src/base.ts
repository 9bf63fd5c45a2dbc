/**
 * The WebGPU backend's storage: each tensor lives in a GPU storage buffer (uint8 tensors packed four
 * codes to a u32 word, the length padded to a multiple of 4). Buffers come from a pool keyed by size,
 * so a training loop whose shapes repeat allocates nothing after its first step. Kernels call
 * `run(program, ...)`; reading back is async only (mapAsync).
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
  makeTypedArray,
  sizeOf,
  type TensorInfo,
  type TypedKernelFunction,
} from '@octet/core';
import { type Program, packUniforms, shaderSource } from './program.js';

/** The storage handle: a pooled GPU buffer. */
export class WebGpuData {
  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes the tensor uses (the buffer may be larger). */
    readonly byteLength: number,
  ) {}
}

/** Bytes a tensor of `dtype` with `size` elements occupies: uint8 is padded to whole u32 words. */
export function storageBytes(dtype: DType, size: number): number {
  return dtype === 'uint8' ? Math.ceil(size / 4) * 4 : size * 4;
}

/** Buffers are allocated in multiples of 16 bytes (and never empty) so similar sizes share a pool. */
function bucketBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/** Free GPU buffers, by size. */
class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Bytes of every buffer this pool created (in use or free). */
  allocatedBytes = 0;
  /** Buffers created so far: constant in a steady-state loop. */
  created = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = bucketBytes(bytes);
    const buffer = this.free.get(size)?.pop();
    if (buffer) return buffer;
    this.allocatedBytes += size;
    this.created++;
    return this.device.createBuffer({ size, usage: this.usage });
  }

  release(buffer: GPUBuffer): void {
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }
}

export interface Dispatch {
  program: Program;
  inputs: readonly TensorInfo[];
  /** Shape and dtype of the new output tensor. */
  output: { shape: readonly number[]; dtype: DType };
  /** Uniform values, in the order of `program.uniforms`. */
  uniforms: readonly number[];
  workgroups: readonly [number, number, number];
  /** Extra read-only buffers bound after the inputs (e.g. a cached table). */
  extraInputs?: readonly GPUBuffer[];
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly kernels;
  private readonly storage: BufferPool;
  private readonly staging: BufferPool;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  /** One uniform buffer per struct size, rewritten before each dispatch (queue order makes that safe). */
  private readonly uniformBuffers = new Map<number, GPUBuffer>();
  private readonly cached = new Map<string, GPUBuffer>();
  private deviceError: string | null = null;

  constructor(
    readonly device: GPUDevice,
    configs: readonly KernelConfig[],
    /** What the adapter says it is (vendor, architecture, description). */
    readonly adapterDescription: string,
    /** What emulates the device in software (e.g. 'SwiftShader'); undefined on real hardware. */
    readonly emulated?: string,
  ) {
    this.kernels = kernelTable(configs);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.storage = new BufferPool(device, usage);
    this.staging = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    device.addEventListener('uncapturederror', (event) => {
      this.deviceError ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** GPU buffers created so far (storage and staging): constant once a loop reaches a steady state. */
  get buffersCreated(): number {
    return this.storage.created + this.staging.created;
  }

  write(values: AnyTypedArray, shape: readonly number[], dtype: DType): TensorInfo {
    const size = sizeOf(shape);
    if (values.length !== size) throw new Error(`write: got ${values.length} values; allowed: ${size} for shape [${shape.join(', ')}]`);
    const byteLength = storageBytes(dtype, size);
    const buffer = this.storage.acquire(byteLength);
    if (byteLength > 0) {
      let bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      if (bytes.byteLength !== byteLength) {
        const padded = new Uint8Array(byteLength);
        padded.set(bytes);
        bytes = padded;
      }
      this.device.queue.writeBuffer(buffer, 0, bytes);
    }
    return { dataId: new WebGpuData(buffer, byteLength), shape, dtype };
  }

  async read(info: TensorInfo): Promise<AnyTypedArray> {
    const { buffer, byteLength } = this.data(info);
    const size = sizeOf(info.shape);
    const out = makeTypedArray(info.dtype, size);
    if (size === 0) return out;
    const staging = this.staging.acquire(byteLength);
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, byteLength);
    this.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, byteLength);
      const bytes = new Uint8Array(staging.getMappedRange(0, byteLength));
      new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength));
      staging.unmap();
    } finally {
      this.staging.release(staging);
    }
    this.throwDeviceError();
    return out;
  }

  disposeData(dataId: DataId): void {
    if (!(dataId instanceof WebGpuData)) throw new Error('disposeData: got storage of another backend; allowed: a webgpu tensor');
    this.storage.release(dataId.buffer);
  }

  memoryBytes(): number {
    return this.storage.allocatedBytes + this.staging.allocatedBytes;
  }

  /** The storage of a tensor of this backend. */
  data(info: TensorInfo): WebGpuData {
    const data = info.dataId;
    if (!(data instanceof WebGpuData)) {
      throw new Error(
        `webgpu kernel input: got a tensor stored by another backend (${info.dtype} [${info.shape.join(', ')}]); allowed: webgpu tensors`,
      );
    }
    return data;
  }

  /** A read-only buffer computed once per `key` and kept (e.g. RoPE's cos/sin table). */
  cachedBuffer(key: string, make: () => Float32Array): GPUBuffer {
    let buffer = this.cached.get(key);
    if (!buffer) {
      const values = make();
      buffer = this.device.createBuffer({ size: bucketBytes(values.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      this.device.queue.writeBuffer(buffer, 0, values);
      if (this.cached.size >= 64) {
        const [oldest, old] = this.cached.entries().next().value as [string, GPUBuffer];
        this.cached.delete(oldest);
        old.destroy();
      }
      this.cached.set(key, buffer);
    }
    return buffer;
  }

  /**
   * Encodes and submits one dispatch of `program`; returns the new output tensor. Pooled buffers
   * hold old data, so every program writes each element of its output.
   */
  run({ program, inputs, output, uniforms, workgroups, extraInputs = [] }: Dispatch): TensorInfo {
    const byteLength = storageBytes(output.dtype, sizeOf(output.shape));
    const out = this.storage.acquire(byteLength);
    const result: TensorInfo = { dataId: new WebGpuData(out, byteLength), shape: output.shape, dtype: output.dtype };
    if (inputs.length + extraInputs.length !== program.inputs.length) {
      throw new Error(`program ${program.key}: got ${inputs.length + extraInputs.length} input buffers; allowed: ${program.inputs.length}`);
    }
    const { pipeline, layout } = this.pipeline(program);
    const uniformBytes = packUniforms(program.uniforms, uniforms);
    const uniformBuffer = this.uniformBuffer(uniformBytes.byteLength);
    this.device.queue.writeBuffer(uniformBuffer, 0, uniformBytes);
    const buffers = [...inputs.map((t) => this.data(t).buffer), ...extraInputs, out, uniformBuffer];
    const bindGroup = this.device.createBindGroup({
      layout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = this.device.createCommandEncoder();
    if (workgroups.every((w) => w > 0)) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...workgroups);
      pass.end();
    }
    this.device.queue.submit([encoder.finish()]);
    return result;
  }

  private uniformBuffer(size: number): GPUBuffer {
    let buffer = this.uniformBuffers.get(size);
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      this.uniformBuffers.set(size, buffer);
    }
    return buffer;
  }

  private pipeline(program: Program): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    let entry = this.pipelines.get(program.key);
    if (!entry) {
      const readOnly = program.inputs.length;
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < readOnly; i++)
        entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } });
      entries.push({ binding: readOnly, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } });
      entries.push({ binding: readOnly + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      const layout = this.device.createBindGroupLayout({ entries });
      const module = this.device.createShaderModule({ code: shaderSource(program), label: program.key });
      const pipeline = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
        label: program.key,
      });
      entry = { pipeline, layout };
      this.pipelines.set(program.key, entry);
    }
    return entry;
  }

  /** Pipelines compiled so far (one per cache key). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  private throwDeviceError(): void {
    if (this.deviceError !== null) {
      const message = this.deviceError;
      this.deviceError = null;
      throw new Error(`webgpu device error: ${message}`);
    }
  }

  /** Frees every GPU buffer and the device. */
  destroy(): void {
    this.storage.destroy();
    this.staging.destroy();
    for (const b of [...this.uniformBuffers.values(), ...this.cached.values()]) b.destroy();
    this.device.destroy();
  }
}

/** Core's `defineKernel` for this backend: each kernel's inputs and attributes typed by its contract, `backend` a WebGpuBackend. */
export function defineWebGpuKernel<K extends KernelName>(kernelName: K, kernelFunc: TypedKernelFunction<K, WebGpuBackend>): KernelConfig {
  return defineKernel(kernelName, kernelFunc);
}
