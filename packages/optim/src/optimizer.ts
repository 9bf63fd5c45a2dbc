/**
 * The interface every octet optimizer implements, and the base class the compressed ones share:
 * parameter groups, a settable `lr`, the step count, named state tensors (whose bytes are the
 * optimizer's memory), checkpoints and validation that names the offending field.
 */
import { type AnyTypedArray, BYTES_PER_ELEMENT, check, dispose, ENGINE, keep, op, type Tensor, tidy, Variable } from '@octet/core';
import { checkLearningRate } from './option-checks.js';
import { type ParamGroup, type ResolvedGroup, resolveGroups } from './param-groups.js';

/** JSON-able values saved beside the state tensors (hyper-parameters that shape the state, positions, seeds). */
export type StateScalar = number | string | boolean | null | StateScalar[];

/** What `stateDict()` returns and `loadStateDict()` takes: the step, named tensors, and JSON-able scalars. */
export interface OptimizerState {
  step: number;
  tensors: Record<string, Tensor>;
  scalars?: Record<string, StateScalar>;
}

/** The shared optimizer contract (AdamW, SGD and every compressed variant implement it). */
export interface Optimizer {
  /** Registry name, e.g. `'adamw8bit'` (see `OPTIMIZER_NAMES`). */
  readonly name: string;
  /** Base learning rate; a schedule sets it before each step. Each group multiplies it by its `lrScale`. */
  lr: number;
  readonly groups: ResolvedGroup[];
  /** Steps taken so far. */
  readonly step: number;
  params(): Variable[];
  /**
   * One update; `grads` are in the order of `params()`. Needs a backend with synchronous reads
   * when the optimizer computes part of its step on the host (MicroAdam, AdamSNSM, Grass).
   */
  applyGradients(grads: readonly Tensor[]): void;
  /**
   * The same update on any backend: what the step reads on the host is fetched first with
   * `await tensor.data()`, then the update runs. Equal, bit for bit, to `applyGradients`.
   */
  applyGradientsAsync(grads: readonly Tensor[]): Promise<void>;
  /** Exact bytes of optimizer state held (codes, scales, indices, f32 moments). */
  stateBytes(): number;
  stateDict(): OptimizerState;
  loadStateDict(state: OptimizerState): void;
  dispose(): void;
}

/** Host copies of the tensors one parameter's update reads, by the names `hostReads` gave them. */
export type HostValues = Record<string, AnyTypedArray>;

/**
 * Base of the optimizers in this package. Subclasses register their state with `addState` (a
 * Variable per named slot) and implement `update`; the base does groups, the step count, byte
 * accounting, checkpoints and disposal. A subclass whose update reads tensors on the host names
 * them in `hostReads` and gets their values from `readHost`, so that `applyGradientsAsync` can
 * fetch them on backends without synchronous reads.
 */
export abstract class OptimizerBase implements Optimizer {
  abstract readonly name: string;
  readonly groups: ResolvedGroup[];
  lr: number;
  protected stepCount = 0;
  /** Named state tensors, in creation order. */
  protected readonly slots = new Map<string, Variable>();
  /** Host values fetched by `applyGradientsAsync` for the step under way, by parameter. */
  private prefetched: Map<Variable, HostValues> | null = null;
  /** Set while `applyGradientsAsync` awaits its reads: another step must not start then. */
  private stepInFlight = false;

  constructor(
    /** Class name used in error messages, e.g. 'AdamW8bit'. */
    protected readonly label: string,
    params: readonly ParamGroup[] | readonly Variable[],
    lr: number,
  ) {
    checkLearningRate(label, lr);
    this.groups = resolveGroups(params);
    this.lr = lr;
    const names = new Set<string>();
    for (const p of this.params()) {
      check(
        !names.has(p.name),
        `${label} parameters`,
        `two parameters named ${JSON.stringify(p.name)}`,
        'unique names (state is saved by name)',
      );
      names.add(p.name);
    }
  }

  params(): Variable[] {
    return this.groups.flatMap((g) => g.params);
  }

  get step(): number {
    return this.stepCount;
  }

  applyGradients(grads: readonly Tensor[]): void {
    this.checkGradients(grads);
    this.checkSynchronousReads(grads);
    this.runStep(grads);
  }

  async applyGradientsAsync(grads: readonly Tensor[]): Promise<void> {
    this.checkGradients(grads);
    const params = this.params();
    const step = this.stepCount + 1;
    // Every parameter's reads are named before any update runs, so they may only be what the step
    // does not change first: the gradients, the state, or tensors computed from them.
    const reads = tidy(() => params.map((p, i) => this.hostReads(p, grads[i]!, step)));
    const made = reads.flatMap((r, i) => Object.values(r).filter((t) => madeForRead(t, grads[i]!)));
    for (const t of made) keep(t); // alive across the await even when the caller is inside a tidy
    this.stepInFlight = true;
    try {
      const values = await Promise.all(reads.map(readAll));
      this.prefetched = new Map(params.map((p, i) => [p, values[i]!]));
      this.runStep(grads);
    } finally {
      this.prefetched = null;
      this.stepInFlight = false;
      dispose(made);
    }
  }

  private checkGradients(grads: readonly Tensor[]): void {
    if (this.stepInFlight) throw new Error(`${this.label}: a step is still running; await applyGradientsAsync before the next one`);
    const params = this.params();
    check(grads.length === params.length, `${this.label} gradients`, `${grads.length} tensors`, `${params.length} (one per parameter)`);
    grads.forEach((g, i) => {
      const p = params[i]!;
      check(
        g.size === p.size && g.rank === p.rank && g.shape.every((d, j) => d === p.shape[j]),
        `${this.label} gradient of ${p.name}`,
        `shape [${g.shape.join(', ')}]`,
        `[${p.shape.join(', ')}] (the parameter's shape)`,
      );
    });
  }

  /** Fails before the step starts when it reads on the host and the backend cannot read synchronously. */
  private checkSynchronousReads(grads: readonly Tensor[]): void {
    const backend = grads[0] && ENGINE.ownerOf(grads[0]);
    if (!backend || backend.readSync) return;
    const step = this.stepCount + 1;
    const params = this.params();
    const reads = tidy(() => params.map((p, i) => Object.keys(this.hostReads(p, grads[i]!, step)).map((name) => `${p.name} ${name}`)));
    const named = reads.flat();
    if (named.length === 0) return;
    throw new Error(
      `${this.label}.applyGradients: backend ${backend.name} has no synchronous read, and this step reads ` +
        `${describeNames(named)} on the host; use await applyGradientsAsync(grads) on such a backend`,
    );
  }

  /**
   * The update itself, synchronous. Each parameter's update is a scope of its own: its temporaries
   * (decoded moments, the step) go before the next parameter's are made.
   */
  private runStep(grads: readonly Tensor[]): void {
    this.stepCount++;
    let i = 0;
    for (const group of this.groups) {
      const lr = this.lr * group.lrScale;
      for (const p of group.params) {
        const index = i++;
        tidy(() => this.update(p, grads[index]!, group, lr, index));
      }
    }
  }

  /**
   * The tensors `update(p, g, …)` reads on the host at step `step` (1 for the first), by name
   * (default: none). Only what is known before the step: `g`, state tensors, or tensors computed
   * here from them (e.g. the gradient's row norms); those computed ones are disposed once read.
   */
  protected hostReads(_p: Variable, _g: Tensor, _step: number): Record<string, Tensor> {
    return {};
  }

  /**
   * Host values of `hostReads(p, g, this.step)`: those `applyGradientsAsync` fetched, else read
   * now with `dataSync()` (`applyGradients` has checked that the backend can). The arrays are
   * copies the caller may change.
   */
  protected readHost(p: Variable, g: Tensor): HostValues {
    const prefetched = this.prefetched?.get(p);
    if (prefetched) return prefetched;
    const reads = tidy(() => this.hostReads(p, g, this.stepCount));
    try {
      return Object.fromEntries(Object.entries(reads).map(([name, t]) => [name, t.dataSync()]));
    } finally {
      dispose(Object.values(reads).filter((t) => madeForRead(t, g)));
    }
  }

  /** Updates one parameter; `lr` already includes the group's `lrScale`; `index` is its position in `params()`. */
  protected abstract update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number, index: number): void;

  /** Creates a named state tensor (not trainable). */
  protected addState(name: string, initial: Tensor): Variable {
    check(!this.slots.has(name), `${this.label} state`, name, 'a unique state name');
    const v = new Variable(name, initial, false);
    initial.dispose(); // the Variable holds the storage now; the temporary must not keep a second reference
    this.slots.set(name, v);
    return v;
  }

  protected getState(name: string): Variable {
    const v = this.slots.get(name);
    if (!v) throw new Error(`${this.label}: no state tensor ${name}`);
    return v;
  }

  /** Bytes of every state tensor as held (uint8 codes count 1 byte, f32 and int32 4). */
  stateBytes(): number {
    let bytes = 0;
    for (const v of this.slots.values()) bytes += v.size * BYTES_PER_ELEMENT[v.dtype];
    return bytes;
  }

  /** Hyper-parameters that shape the state: saved with it and checked on load. */
  protected scalars(): Record<string, StateScalar> {
    return {};
  }

  /** Extra per-run scalars (e.g. positions) restored by `restoreScalars`. */
  protected restoreScalars(_scalars: Record<string, StateScalar>): void {}

  /** float32 copies of the narrower state tensors made by the last `stateDict()`. */
  private widened: Tensor[] = [];

  /**
   * The state by name. Tensors are float32 (uint8 and int32 state is widened exactly), so a
   * checkpoint that writes F32 safetensors holds them; `stateBytes()` counts the narrower bytes
   * actually held. The widened copies stay valid until the next `stateDict()` or `dispose()`.
   */
  stateDict(): OptimizerState {
    this.releaseWidened();
    const tensors: Record<string, Tensor> = {};
    for (const [name, v] of this.slots) {
      if (v.dtype === 'float32') tensors[name] = v;
      else this.widened.push((tensors[name] = op.cast(v, 'float32')));
    }
    return { step: this.stepCount, tensors, scalars: { optimizer: this.name, ...this.scalars() } };
  }

  private releaseWidened(): void {
    for (const t of this.widened) t.dispose();
    this.widened = [];
  }

  loadStateDict(state: OptimizerState): void {
    check(Number.isInteger(state.step) && state.step >= 0, `${this.label} state step`, state.step, 'an integer ≥ 0');
    const expected: Record<string, StateScalar> = { optimizer: this.name, ...this.scalars() };
    if (state.scalars) {
      for (const [key, value] of Object.entries(expected)) {
        if (!(key in state.scalars)) continue;
        check(
          JSON.stringify(state.scalars[key]) === JSON.stringify(value),
          `${this.label} state scalars.${key}`,
          state.scalars[key],
          `${JSON.stringify(value)} (this optimizer's setting)`,
        );
      }
    }
    for (const name of Object.keys(state.tensors)) {
      check(
        this.slots.has(name),
        `${this.label} state`,
        `an unexpected tensor ${name}`,
        `only this optimizer's tensors: ${describeNames([...this.slots.keys()])}`,
      );
    }
    const loaded: { slot: Variable; saved: Tensor; value: Tensor }[] = [];
    for (const [name, slot] of this.slots) {
      const saved = state.tensors[name];
      check(
        saved !== undefined,
        `${this.label} state`,
        `no tensor ${name}`,
        `every state tensor: ${describeNames([...this.slots.keys()])}`,
      );
      check(
        saved.rank === slot.rank && saved.shape.every((d, i) => d === slot.shape[i]),
        `${this.label} state ${name}`,
        `shape [${saved.shape.join(', ')}]`,
        `[${slot.shape.join(', ')}]`,
      );
      loaded.push({ slot, saved, value: toDtype(saved, slot.dtype, `${this.label} state ${name}`) });
    }
    for (const { slot, value } of loaded) slot.assign(value);
    // The slots hold the converted values now; the converted tensors themselves go (the caller owns the saved ones).
    for (const { saved, value } of loaded) if (value !== saved) value.dispose();
    this.stepCount = state.step;
    if (state.scalars) this.restoreScalars(state.scalars);
  }

  dispose(): void {
    this.releaseWidened();
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

function describeNames(names: string[]): string {
  return names.length <= 4 ? names.join(', ') : `${names.slice(0, 4).join(', ')}, … (${names.length} in all)`;
}

/** Whether `hostReads` made `t` for the read (anything but the gradient and Variables such as the state). */
function madeForRead(t: Tensor, g: Tensor): boolean {
  return t !== g && !(t instanceof Variable);
}

async function readAll(reads: Record<string, Tensor>): Promise<HostValues> {
  const entries = Object.entries(reads);
  const values = await Promise.all(entries.map(([, t]) => t.data()));
  return Object.fromEntries(entries.map(([name], i) => [name, values[i]!]));
}

/** The byte values 0…255 as an f32 codebook: the code of an integer-valued float on it is the integer. */
function byteIdentityMap(): Tensor {
  return op.tensor(
    Float32Array.from({ length: 256 }, (_, i) => i),
    [256],
  );
}

/** A saved tensor in the slot's dtype (float32 → uint8 codes or int32 indices), converted on the device. */
function toDtype(saved: Tensor, dtype: Tensor['dtype'], what: string): Tensor {
  if (saved.dtype === dtype) return saved;
  if (dtype === 'float32') return op.cast(saved, 'float32');
  const max = dtype === 'uint8' ? 255 : 2 ** 31 - 1;
  const min = dtype === 'uint8' ? 0 : -(2 ** 31);
  // Checked only where the backend reads synchronously: elsewhere a check would need an await, and
  // the values are those `stateDict()` widened (exactly) from this dtype.
  if (ENGINE.ownerOf(saved).readSync) {
    for (const x of saved.dataSync())
      check(Number.isInteger(x) && x >= min && x <= max, what, x, `integers in [${min}, ${max}] (${dtype} values)`);
  }
  return tidy(() => {
    const floats = saved.dtype === 'float32' ? saved : op.cast(saved, 'float32');
    if (dtype === 'int32') return op.cast(floats, 'int32');
    return op.reshape(op.mapQuantize(floats, byteIdentityMap(), 8), saved.shape);
  });
}
