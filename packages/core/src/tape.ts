/**
 * The autograd tape: what each recorded op keeps for backward, and nothing else (PyTorch's
 * `save_for_backward`, tfjs's `inputsToSave`/`outputsToSave`). A saved tensor is a handle of its own
 * on the forward tensor's storage, owned by the tape: the forward's scopes can free their tensors as
 * they go while the storage a gradient reads stays, until that gradient has run.
 */
import type { Tensor } from './tensor.js';

export type KernelInputs = Record<string, Tensor | Tensor[]>;

/**
 * A kernel's gradient: given dy and what the forward saw, thunks computing each input's gradient.
 * Inputs (and the output) the gradient's `saves` does not name are passed as released handles:
 * their shape and dtype can be read, their values cannot (reading one throws, naming it).
 */
export type GradFunc = (
  dy: Tensor,
  forward: { inputs: KernelInputs; attrs: Record<string, unknown>; output: Tensor },
) => Record<string, () => Tensor | Tensor[]>;

/** What a gradient reads from the forward: inputs by name, and whether it reads the output. */
export interface SavedForBackward {
  inputs?: readonly string[];
  output?: boolean;
}

export interface GradientConfig {
  /** What backward reads, fixed or by the kernel's attributes (e.g. `exp` reads its output, `log` its input). */
  saves: SavedForBackward | ((attrs: Record<string, unknown>) => SavedForBackward);
  gradFunc: GradFunc;
}

/** One recorded op: which tensors went in, which came out, what it keeps, and how to send a gradient back. */
export interface TapeNode {
  /** The forward's inputs: their ids route gradients; their storage may be gone. */
  inputs: Tensor[];
  outputId: number;
  /** Handles the tape owns on storage that backward reads; released once backward has run. */
  saved: Tensor[];
  /** Gradients for `inputs`, in order (null where none flows). */
  backward: (dy: Tensor) => (Tensor | null)[];
}

/** What a backward pass asks of the engine. */
export interface BackpropOps {
  tidy<T>(fn: () => T): T;
  add(a: Tensor, b: Tensor): Tensor;
  zeros(shape: readonly number[]): Tensor;
}

export class Tape {
  readonly nodes: TapeNode[] = [];
  /** Ids of tensors whose gradient is wanted or that depend on one. */
  readonly tracked: Set<number>;

  constructor(xs: readonly Tensor[]) {
    this.tracked = new Set(xs.map((x) => x.id));
  }

  isRecordingFor(inputs: readonly Tensor[]): boolean {
    return inputs.some((t) => this.tracked.has(t.id));
  }

  record(node: TapeNode): void {
    this.nodes.push(node);
    this.tracked.add(node.outputId);
  }

  /** Releases what a node saved (after its backward ran, or when it never will). */
  static release(node: TapeNode): void {
    for (const t of node.saved) t.dispose();
    node.saved = [];
  }

  /** Releases every node's saved tensors (the tape is done or was abandoned). */
  releaseAll(): void {
    for (const node of this.nodes) Tape.release(node);
  }

  /**
   * Sends `seed` (the gradient of `output`) back through the recorded nodes, last first, and returns
   * the gradient of each of `xs` (zeros where none flows). Each node's backward runs in a scope of
   * its own, its saved tensors are released as soon as it has run, and a gradient is freed once it
   * has been passed on or added into another.
   */
  backprop(output: Tensor, xs: readonly Tensor[], seed: Tensor, ops: BackpropOps): Tensor[] {
    const wanted = new Set(xs.map((x) => x.id));
    const gradOf = new Map<number, Tensor>();
    gradOf.set(output.id, seed);
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const node = this.nodes[n]!;
      const dy = gradOf.get(node.outputId);
      if (!dy) {
        Tape.release(node);
        continue;
      }
      const inputGrads = ops.tidy(() => node.backward(dy));
      Tape.release(node);
      // Gradient tensors can be shared (add passes dy to both inputs), so free only what no entry still holds.
      const released: Tensor[] = [];
      if (!wanted.has(node.outputId)) {
        gradOf.delete(node.outputId);
        released.push(dy);
      }
      node.inputs.forEach((input, i) => {
        const grad = inputGrads[i];
        if (!grad || !this.tracked.has(input.id)) return;
        const previous = gradOf.get(input.id);
        if (previous) {
          gradOf.set(input.id, ops.add(previous, grad));
          released.push(previous, grad);
        } else gradOf.set(input.id, grad);
      });
      const held = new Set(gradOf.values());
      for (const t of new Set(released)) if (!held.has(t)) t.dispose();
    }
    return xs.map((x) => gradOf.get(x.id) ?? ops.zeros(x.shape));
  }
}

/** The tensors of a kernel's inputs, in order (array inputs spread). */
export function flattenInputs(inputs: KernelInputs): Tensor[] {
  const flat: Tensor[] = [];
  for (const value of Object.values(inputs)) {
    if (Array.isArray(value)) flat.push(...value);
    else flat.push(value);
  }
  return flat;
}
