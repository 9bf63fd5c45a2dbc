/**
 * The engine: the active backend, kernel dispatch, scoped memory (tidy/keep/dispose) and the
 * autograd tape. Ops call `ENGINE.runKernel`; nothing else talks to a backend directly.
 */
import type { AnyTypedArray, Backend, DataId, DType, TensorInfo } from './backend.js';
import { BYTES_PER_ELEMENT, sizeOf } from './backend.js';
import { check } from './errors.js';
import type { KernelInputs as ContractInputs, KernelAttrs, KernelName, NoAttrs } from './kernel-names.js';
import * as K from './kernel-names.js';
import { type BackpropOps, flattenInputs, type GradientConfig, type KernelInputs, Tape } from './tape.js';
import { Tensor, type Variable } from './tensor.js';

export type { GradFunc, KernelInputs } from './tape.js';

/** A kernel's contract inputs (kernel-names.ts) as tensors. */
export type TensorInputs<N extends KernelName> = {
  [P in keyof ContractInputs<N>]: ContractInputs<N>[P] extends readonly unknown[] ? Tensor[] : Tensor;
};
/** Attributes, which a kernel without any may leave out. */
type AttrsArgument<N extends KernelName> = NoAttrs extends KernelAttrs<N> ? [attrs?: KernelAttrs<N>] : [attrs: KernelAttrs<N>];

export interface MemoryInfo {
  /** Live tensors (views of the same storage count separately). */
  numTensors: number;
  /** Distinct storage buffers. */
  numDataBuffers: number;
  /** Bytes of live storage, as counted by the engine. */
  numBytes: number;
  /** Bytes the backend itself reports holding (may include pooled buffers). */
  backendBytes: number;
  /** The high-water mark of `numBytes` since the last `resetPeakMemory()` (or the start). */
  peakBytes: number;
}

class Engine {
  private activeBackend: Backend | null = null;
  /** Live storage: its tensor count, size, and the backend that holds it (not always the active one). */
  private readonly refCounts = new Map<DataId, { count: number; bytes: number; owner: Backend }>();
  private readonly scopes: Set<Tensor>[] = [];
  private readonly gradients = new Map<KernelName, GradientConfig>();
  private tape: Tape | null = null;
  private numTensors = 0;
  private numBytes = 0;
  private peakBytes = 0;

  get backend(): Backend {
    if (this.activeBackend === null) {
      throw new Error('no backend is set: call setBackend(createCpuBackend()) (or another backend) first');
    }
    return this.activeBackend;
  }

  setBackend(backend: Backend): void {
    this.activeBackend = backend;
  }

  registerGradient(kernelName: KernelName, config: GradientConfig): void {
    this.gradients.set(kernelName, config);
  }

  // ---------- tensors and memory ----------

  /** Wraps backend storage in a Tensor owned by the current scope. */
  makeTensor(info: TensorInfo): Tensor {
    const tensor = new Tensor(info.dataId, [...info.shape], info.dtype);
    this.retain(tensor.dataId, sizeOf(info.shape) * BYTES_PER_ELEMENT[info.dtype]);
    this.numTensors++;
    this.scopes.at(-1)?.add(tensor);
    return tensor;
  }

  upload(values: AnyTypedArray, shape: readonly number[], dtype: DType): Tensor {
    return this.makeTensor(this.backend.write(values, shape, dtype));
  }

  /** A tensor sharing `x`'s storage with another shape (reshape costs no copy). */
  view(x: Tensor, shape: readonly number[]): Tensor {
    return this.makeTensor({ dataId: x.dataId, shape, dtype: x.dtype });
  }

  private retain(dataId: DataId, bytes: number): void {
    const entry = this.refCounts.get(dataId);
    if (entry) entry.count++;
    else {
      // New storage is always made by the active backend (write or a kernel).
      this.refCounts.set(dataId, { count: 1, bytes, owner: this.backend });
      this.numBytes += bytes;
      if (this.numBytes > this.peakBytes) this.peakBytes = this.numBytes;
    }
  }

  private release(dataId: DataId): void {
    const entry = this.refCounts.get(dataId);
    if (!entry) return;
    if (--entry.count > 0) return;
    this.refCounts.delete(dataId);
    this.numBytes -= entry.bytes;
    entry.owner.disposeData(dataId);
  }

  /**
   * A handle of its own on `tensor`'s storage, in no scope: the storage lives until the handle is
   * disposed, whatever happens to `tensor` (the tape saves tensors for backward this way).
   */
  hold(tensor: Tensor): Tensor {
    this.assertLive(tensor, 'a tensor saved for backward');
    const held = new Tensor(tensor.dataId, tensor.shape, tensor.dtype);
    this.retain(held.dataId, held.size * BYTES_PER_ELEMENT[held.dtype]);
    this.numTensors++;
    return held;
  }

  isDisposed(tensor: Tensor): boolean {
    return tensor.disposedByEngine;
  }

  disposeTensor(tensor: Tensor): void {
    if (tensor.disposedByEngine) return;
    tensor.disposedByEngine = true;
    this.numTensors--;
    this.release(tensor.dataId);
  }

  adoptVariable(_variable: Variable, initial: Tensor): void {
    this.assertLive(initial, 'initial value');
    this.retain(initial.dataId, initial.size * BYTES_PER_ELEMENT[initial.dtype]);
    this.numTensors++;
  }

  assignVariable(variable: Variable, value: Tensor): void {
    this.assertLive(value, `new value of variable ${variable.name}`);
    check(
      value.dtype === variable.dtype &&
        value.shape.length === variable.shape.length &&
        value.shape.every((d, i) => d === variable.shape[i]),
      `new value of variable ${variable.name}`,
      `${value.dtype} [${value.shape.join(', ')}]`,
      `${variable.dtype} [${variable.shape.join(', ')}] (the variable's dtype and shape)`,
    );
    if (value.dataId === variable.dataId) return;
    this.retain(value.dataId, value.size * BYTES_PER_ELEMENT[value.dtype]);
    this.release(variable.dataId);
    variable.dataId = value.dataId;
  }

  private assertLive(tensor: Tensor, what: string): void {
    if (!tensor.disposedByEngine) return;
    throw new Error(`${what}: ${tensor} ${tensor.releasedBecause ? `was released: ${tensor.releasedBecause}` : 'was already disposed'}`);
  }

  /** Runs `fn`; every tensor it creates is disposed afterwards except those it returns or `keep`s. */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const returned = new Set<Tensor>();
    collectTensors(result, returned);
    for (const tensor of scope) {
      if (returned.has(tensor)) this.scopes.at(-1)?.add(tensor);
      else tensor.dispose();
    }
    return result;
  }

  /** Keeps `tensor` alive past the enclosing tidy scopes. */
  keep<T extends Tensor>(tensor: T): T {
    for (const scope of this.scopes) scope.delete(tensor);
    return tensor;
  }

  memory(): MemoryInfo {
    return {
      numTensors: this.numTensors,
      numDataBuffers: this.refCounts.size,
      numBytes: this.numBytes,
      backendBytes: this.activeBackend?.memoryBytes() ?? 0,
      peakBytes: this.peakBytes,
    };
  }

  /** Starts a new high-water mark at the bytes live now (e.g. at the start of a training step). */
  resetPeakMemory(): void {
    this.peakBytes = this.numBytes;
  }

  read(tensor: Tensor): Promise<AnyTypedArray> {
    this.assertLive(tensor, 'data()');
    return this.ownerOf(tensor).read(tensor);
  }

  readSync(tensor: Tensor): AnyTypedArray {
    this.assertLive(tensor, 'dataSync()');
    const owner = this.ownerOf(tensor);
    if (!owner.readSync) throw new Error(`backend ${owner.name} has no synchronous read: use await tensor.data()`);
    return owner.readSync(tensor);
  }

  /** The backend holding a tensor's storage. */
  ownerOf(tensor: Tensor): Backend {
    return this.refCounts.get(tensor.dataId)?.owner ?? this.backend;
  }

  // ---------- kernels and autograd ----------

  runKernel<N extends KernelName>(kernelName: N, inputs: TensorInputs<N>, ...attrs: AttrsArgument<N>): Tensor;
  runKernel(kernelName: KernelName, inputs: KernelInputs, attrs: Record<string, unknown> = {}): Tensor {
    const backend = this.backend;
    const kernel = backend.kernels.get(kernelName);
    if (!kernel) throw new Error(`kernel ${kernelName} is not implemented by backend ${backend.name}`);
    const flatInputs = flattenInputs(inputs);
    for (const input of flatInputs) {
      this.assertLive(input, `input of ${kernelName}`);
      const owner = this.ownerOf(input);
      if (owner !== backend) {
        throw new Error(
          `input of ${kernelName}: the tensor lives on backend ${owner.name}, but the active backend is ${backend.name}; ` +
            'run ops on the backend that holds their inputs (copy with tensor(await t.data(), t.shape) to move one)',
        );
      }
    }
    const output = this.makeTensor(kernel({ inputs, attrs, backend }));
    const gradient = this.gradients.get(kernelName);
    const tape = this.tape;
    if (gradient && tape?.isRecordingFor(flatInputs)) this.recordKernel(tape, kernelName, gradient, inputs, attrs, output);
    return output;
  }

  /** Records a kernel call, saving only what its gradient declares it reads. */
  private recordKernel(
    tape: Tape,
    kernelName: KernelName,
    { saves, gradFunc }: GradientConfig,
    inputs: KernelInputs,
    attrs: Record<string, unknown>,
    output: Tensor,
  ): void {
    const spec = typeof saves === 'function' ? saves(attrs) : saves;
    const saved: Tensor[] = [];
    const keepOrRelease = (t: Tensor, name: string, wanted: boolean): Tensor => {
      if (!wanted) return Tensor.released(t, `${name} of ${kernelName} is not saved for backward (name it in the gradient's saves)`);
      const held = this.hold(t);
      saved.push(held);
      return held;
    };
    const forwardInputs: KernelInputs = {};
    for (const [name, value] of Object.entries(inputs)) {
      const wanted = spec.inputs?.includes(name) ?? false;
      forwardInputs[name] = Array.isArray(value)
        ? value.map((t, i) => keepOrRelease(t, `input ${name}[${i}]`, wanted))
        : keepOrRelease(value, `input ${name}`, wanted);
    }
    const forwardOutput = keepOrRelease(output, 'the output', spec.output ?? false);
    const backward = (dy: Tensor): (Tensor | null)[] => {
      const thunks = gradFunc(dy, { inputs: forwardInputs, attrs, output: forwardOutput });
      const grads: (Tensor | null)[] = [];
      for (const [name, value] of Object.entries(inputs)) {
        const wanted = Array.isArray(value) ? value.some((t) => tape.tracked.has(t.id)) : tape.tracked.has(value.id);
        const thunk = thunks[name];
        const grad = wanted && thunk ? thunk() : null;
        if (Array.isArray(value)) for (let i = 0; i < value.length; i++) grads.push(grad ? (grad as Tensor[])[i]! : null);
        else grads.push(grad as Tensor | null);
      }
      return grads;
    };
    tape.record({ inputs: flattenInputs(inputs), outputId: output.id, saved, backward });
  }

  /** What a tape's backward pass asks of the engine. */
  private readonly backpropOps: BackpropOps = {
    tidy: (fn) => this.tidy(fn),
    add: (a, b) => this.runKernel(K.Binary, { a, b }, { op: 'add' }),
    zeros: (shape) => this.runKernel(K.Fill, {}, { shape: [...shape], value: 0, dtype: 'float32' }),
  };

  /** Whether a `valueAndGrads` is recording the ops that run. */
  get recording(): boolean {
    return this.tape !== null;
  }

  /**
   * An op with a hand-written backward (e.g. FP8 Linear): `forward` runs untaped and returns the
   * output and a backward that maps dy to one gradient per input (null where none flows). What
   * backward reads must go through `save` (while recording, a handle the tape releases once
   * backward has run; otherwise the tensor itself): the forward's scope frees everything else.
   * `recording` says whether backward can run at all (so the forward can skip preparing for it).
   */
  customOp(
    inputs: Tensor[],
    forward: (save: <T extends Tensor>(t: T) => T, recording: boolean) => { output: Tensor; backward: (dy: Tensor) => (Tensor | null)[] },
  ): Tensor {
    const tape = this.tape;
    const recording = tape?.isRecordingFor(inputs) ?? false;
    const saved: Tensor[] = [];
    const save = <T extends Tensor>(t: T): T => {
      if (!recording) return t;
      const held = this.hold(t) as T;
      saved.push(held);
      return held;
    };
    this.tape = null;
    let result: ReturnType<typeof forward>;
    try {
      result = forward(save, recording);
    } catch (error) {
      for (const t of saved) t.dispose();
      throw error;
    } finally {
      this.tape = tape;
    }
    if (recording) tape!.record({ inputs, outputId: result.output.id, saved, backward: result.backward });
    return result.output;
  }

  /** Records a reshape (a view) on the tape. */
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    const output = this.view(x, shape);
    if (this.tape?.isRecordingFor([x])) {
      this.tape.record({ inputs: [x], outputId: output.id, saved: [], backward: (dy) => [this.view(dy, x.shape)] });
    }
    return output;
  }

  /**
   * Computes `f()` (a scalar) and its gradient with respect to each of `xs`. Everything `f` and
   * the backward pass create is disposed, except the returned value and gradients; tensors saved
   * for backward are released as their gradients run.
   */
  valueAndGrads(f: () => Tensor, xs: readonly Tensor[]): { value: Tensor; grads: Tensor[] } {
    if (this.tape !== null) throw new Error('valueAndGrads cannot be nested (higher-order gradients are not supported)');
    return this.tidy(() =>
      this.taped(f, xs, (tape, value) => {
        check(value.size === 1, 'valueAndGrads: f()', `a tensor of shape [${value.shape.join(', ')}]`, 'a scalar (one element)');
        const one = this.runKernel(K.Fill, {}, { shape: [...value.shape], value: 1, dtype: 'float32' });
        return { value, grads: tape.backprop(value, xs, one, this.backpropOps) };
      }),
    );
  }

  /**
   * The gradients of `f()`'s output with respect to `xs`, given the output's gradient `dy`, from
   * inside a backward (activation recomputation: the forward reruns on a tape of its own).
   */
  recomputeGradients(f: () => Tensor, xs: readonly Tensor[], dy: Tensor): Tensor[] {
    // A view: the inner backward may free its seed, and the outer one may still hold dy.
    return this.taped(f, xs, (tape, output) => tape.backprop(output, xs, this.view(dy, dy.shape), this.backpropOps));
  }

  /** Runs `f` on a fresh tape tracking `xs`, then `then`; the tape's saved tensors are released however it ends. */
  private taped<R>(f: () => Tensor, xs: readonly Tensor[], then: (tape: Tape, output: Tensor) => R): R {
    const outer = this.tape;
    const tape = new Tape(xs);
    this.tape = tape;
    try {
      let output: Tensor;
      try {
        output = f();
      } finally {
        this.tape = outer;
      }
      return then(tape, output);
    } finally {
      tape.releaseAll();
    }
  }
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}

export const ENGINE = new Engine();

export const tidy = <T>(fn: () => T): T => ENGINE.tidy(fn);
export const keep = <T extends Tensor>(tensor: T): T => ENGINE.keep(tensor);
export const dispose = (value: unknown): void => {
  const tensors = new Set<Tensor>();
  collectTensors(value, tensors);
  for (const t of tensors) t.dispose();
};
export const memory = (): MemoryInfo => ENGINE.memory();
export const resetPeakMemory = (): void => ENGINE.resetPeakMemory();
export const setBackend = (backend: Backend): void => ENGINE.setBackend(backend);
export const getActiveBackend = (): Backend => ENGINE.backend;
export const valueAndGrads = (f: () => Tensor, xs: readonly Tensor[]) => ENGINE.valueAndGrads(f, xs);
