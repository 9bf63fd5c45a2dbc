/**
 * A Tensor is a shape, a dtype and a handle into its backend's storage. Tensors are immutable;
 * a Variable is a named tensor whose value can be replaced (parameters, optimizer states).
 */
import type { AnyTypedArray, DataId, DType, TensorInfo } from './backend.js';
import { sizeOf } from './backend.js';
import { ENGINE } from './engine.js';

let nextTensorId = 0;

export class Tensor implements TensorInfo {
  readonly id = nextTensorId++;
  readonly size: number;
  /** @internal Set by the engine when the tensor is disposed (a field: a WeakSet of every tensor weighed on the collector). */
  disposedByEngine = false;
  /** @internal Why this handle holds no values (a forward tensor a gradient did not save). */
  releasedBecause: string | null = null;
  constructor(
    public dataId: DataId,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {
    this.size = sizeOf(shape);
  }

  /**
   * @internal A handle with `t`'s shape and dtype and no storage: what a gradient sees of a forward
   * tensor it did not save. Reading it throws with `reason`.
   */
  static released(t: Tensor, reason: string): Tensor {
    const handle = new Tensor(t.dataId, t.shape, t.dtype);
    handle.disposedByEngine = true;
    handle.releasedBecause = reason;
    return handle;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return ENGINE.isDisposed(this);
  }

  /** Reads the values back to the host (async: a GPU backend waits for its queue). */
  data(): Promise<AnyTypedArray> {
    return ENGINE.read(this);
  }

  /** Synchronous read; only backends whose storage is host memory support it. */
  dataSync(): AnyTypedArray {
    return ENGINE.readSync(this);
  }

  /** Releases this tensor's storage (shared storage is freed when its last tensor goes). */
  dispose(): void {
    ENGINE.disposeTensor(this);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }
}

/** A named, replaceable tensor: model parameters and optimizer states. */
export class Variable extends Tensor {
  constructor(
    /** Unique name; a Module renames its variables to their dotted paths (see `Module.nameVariables`). */
    public name: string,
    initial: Tensor,
    readonly trainable = true,
  ) {
    super(initial.dataId, initial.shape, initial.dtype);
    ENGINE.adoptVariable(this, initial);
  }

  /** Replaces the value (same shape and dtype); the old storage is released. */
  assign(value: Tensor): void {
    ENGINE.assignVariable(this, value);
  }
}
