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
}
