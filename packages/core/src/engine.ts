/**
 * The engine: the active backend, kernel dispatch, scoped memory (tidy/keep/dispose) and the
 * autograd tape. Ops call `ENGINE.runKernel`; nothing else talks to a backend directly.
 */
import type { AnyTypedArray, Backend, DataId, DType, TensorInfo } from './backend.js';
import { BYTES_PER_ELEMENT, sizeOf } from './backend.js';
import { check } from './errors.js';
import type { KernelInputs as ContractInputs, KernelAttrs, KernelName, NoAttrs } from './kernel-names.js';
import { Tensor, type Variable } from './tensor.js';

export type KernelInputs = Record<string, Tensor | Tensor[]>;

/** A kernel's contract inputs (kernel-names.ts) as tensors. */
export type TensorInputs<K extends KernelName> = {
  [P in keyof ContractInputs<K>]: ContractInputs<K>[P] extends readonly unknown[] ? Tensor[] : Tensor;
};
/** Attributes, which a kernel without any may leave out. */
type AttrsArgument<K extends KernelName> = NoAttrs extends KernelAttrs<K> ? [attrs?: KernelAttrs<K>] : [attrs: KernelAttrs<K>];

/** A kernel's gradient: given dy and what the forward saw, thunks computing each input's gradient. */
export type GradFunc = (
  dy: Tensor,
  forward: { inputs: KernelInputs; attrs: Record<string, unknown>; output: Tensor },
) => Record<string, () => Tensor | Tensor[]>;

/** One recorded op: which tensors went in, which came out, and how to send a gradient back. */
interface TapeNode {
  inputs: Tensor[];
  output: Tensor;
  /** Gradients for `inputs`, in order (null where none flows). */
  backward: (dy: Tensor) => (Tensor | null)[];
}

interface Tape {
  nodes: TapeNode[];
  /** Ids of tensors whose gradient is wanted or that depend on one. */
  tracked: Set<number>;
}

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
  private readonly gradients = new Map<KernelName, GradFunc>();
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

  registerGradient(kernelName: KernelName, gradFunc: GradFunc): void {
    this.gradients.set(kernelName, gradFunc);
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
    if (tensor.disposedByEngine) throw new Error(`${what}: ${tensor} was already disposed`);
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

  runKernel<K extends KernelName>(kernelName: K, inputs: TensorInputs<K>, ...attrs: AttrsArgument<K>): Tensor;
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
    const gradFunc = this.gradients.get(kernelName);
    const tape = this.tape;
    if (gradFunc && tape && this.isRecordingFor(flatInputs)) {
      this.record(flatInputs, output, (dy) => {
        const thunks = gradFunc(dy, { inputs, attrs, output });
        const grads: (Tensor | null)[] = [];
        for (const [name, value] of Object.entries(inputs)) {
          const wanted = Array.isArray(value) ? value.some((t) => tape.tracked.has(t.id)) : tape.tracked.has(value.id);
          const thunk = thunks[name];
          const grad = wanted && thunk ? thunk() : null;
          if (Array.isArray(value)) for (let i = 0; i < value.length; i++) grads.push(grad ? (grad as Tensor[])[i]! : null);
          else grads.push(grad as Tensor | null);
        }
        return grads;
      });
    }
    return output;
  }

  /** Whether a `valueAndGrads` is recording the ops that run. */
  get recording(): boolean {
    return this.tape !== null;
  }

  private isRecordingFor(inputs: Tensor[]): boolean {
    return this.tape !== null && inputs.some((t) => this.tape!.tracked.has(t.id));
  }

  private record(inputs: Tensor[], output: Tensor, backward: TapeNode['backward']): void {
    this.tape!.nodes.push({ inputs, output, backward });
    this.tape!.tracked.add(output.id);
  }

  /**
   * An op with a hand-written backward (e.g. FP8 Linear): `forward` runs untaped and returns the
   * output and a backward that maps dy to one gradient per input (null where none flows).
   */
  customOp(inputs: Tensor[], forward: () => { output: Tensor; backward: (dy: Tensor) => (Tensor | null)[] }): Tensor {
    const tape = this.tape;
    this.tape = null;
    let result: ReturnType<typeof forward>;
    try {
      result = forward();
    } finally {
      this.tape = tape;
    }
    if (this.isRecordingFor(inputs)) this.record(inputs, result.output, result.backward);
    return result.output;
  }

  /** Records a reshape (a view) on the tape. */
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    const output = this.view(x, shape);
    if (this.isRecordingFor([x])) this.record([x], output, (dy) => [this.view(dy, x.shape)]);
    return output;
  }

  /**
   * Computes `f()` (a scalar) and its gradient with respect to each of `xs`. Everything `f` and
   * the backward pass create is disposed, except the returned value and gradients.
   */
  valueAndGrads(f: () => Tensor, xs: readonly Tensor[]): { value: Tensor; grads: Tensor[] } {
    if (this.tape !== null) throw new Error('valueAndGrads cannot be nested (higher-order gradients are not supported)');
    return this.tidy(() => {
      const tape: Tape = { nodes: [], tracked: new Set(xs.map((x) => x.id)) };
      this.tape = tape;
      let value: Tensor;
      try {
        value = f();
      } finally {
        this.tape = null;
      }
      check(value.size === 1, 'valueAndGrads: f()', `a tensor of shape [${value.shape.join(', ')}]`, 'a scalar (one element)');
      const grads = this.backprop(tape, value, xs);
      return { value, grads };
    });
  }

  private backprop(tape: Tape, value: Tensor, xs: readonly Tensor[]): Tensor[] {
    const wanted = new Set(xs.map((x) => x.id));
    const gradOf = new Map<number, Tensor>();
    gradOf.set(value.id, this.runKernel('Fill', {}, { shape: [...value.shape], value: 1, dtype: 'float32' }));
    for (let n = tape.nodes.length - 1; n >= 0; n--) {
      const node = tape.nodes[n]!;
      const dy = gradOf.get(node.output.id);
      if (!dy) continue;
      const inputGrads = node.backward(dy);
      // Gradient tensors can be shared (add passes dy to both inputs), so free only what no entry still holds.
      const released: Tensor[] = [];
      if (!wanted.has(node.output.id)) {
        gradOf.delete(node.output.id);
        released.push(dy);
      }
      node.inputs.forEach((input, i) => {
        const grad = inputGrads[i];
        if (!grad || !tape.tracked.has(input.id)) return;
        const previous = gradOf.get(input.id);
        if (previous) {
          gradOf.set(input.id, this.runKernel('Binary', { a: previous, b: grad }, { op: 'add' }));
          released.push(previous, grad);
        } else gradOf.set(input.id, grad);
      });
      const held = new Set(gradOf.values());
      for (const t of new Set(released)) if (!held.has(t)) t.dispose();
    }
    return xs.map((x) => gradOf.get(x.id) ?? this.runKernel('Fill', {}, { shape: [...x.shape], value: 0, dtype: 'float32' }));
  }
}

function flattenInputs(inputs: KernelInputs): Tensor[] {
  const flat: Tensor[] = [];
  for (const value of Object.values(inputs)) {
    if (Array.isArray(value)) flat.push(...value);
    else flat.push(value);
  }
  return flat;
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
