import { tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { causalAttention } from './causal-attention.js';
import type { GraphEmitter } from './graph.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** Score of a masked key in graphs: exp underflows to exactly 0 beside any real score. */
const MASKED_SCORE = -1e9;

export interface AttentionOptions {
  dim: number;
  heads: number;
  recipe: Recipe;
  seed: number;
  /** Init std of q, k, v and the output projection. */
  initStd: number;
  outInitStd: number;
  /** Static multiplier on every Linear's output (μnit Scaling: fan_in^-½). */
  linearAlpha: number;
  /** Scores scale: 1/√d_head (standard) or 1/d_head (μP / μnit Scaling). */
  scoreScale: number;
  ropeBase: number;
  /** Recompute the attention probabilities in backward instead of saving them (the default). */
  recomputeProbabilities?: boolean;
}

/**
 * Where attention finds the keys and values of earlier positions (a KV cache). Given the new
 * positions' q, k and v projections, (B, T, C) each, it keeps the new keys and values, attends
 * over old and new ones (with the attention's `rotate` and `attendMasked`), and returns the
 * heads merged, (B, T, C), for the output projection. Without one, attention is causal over x alone.
 */
export interface AttentionCache {
  attend(attention: CausalSelfAttention, q: Tensor, k: Tensor, v: Tensor): Tensor;
}

/**
 * AttentionCache for graph export: given the q, k, v projections' values (B, T, C), it adds the
 * nodes that attend over past and new positions (with `emitRotate` and `emitAttendMasked`) and
 * returns the merged heads' value (B, T, C).
 */
export interface GraphAttentionCache {
  attend(g: GraphEmitter, attention: CausalSelfAttention, q: string, k: string, v: string): string;
}

/** Causal multi-head self-attention with rotary positions; q, k, v and out are (FP8) Linears. */
export class CausalSelfAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  readonly headDim: number;

  constructor(readonly options: AttentionOptions) {
    super();
    const { dim, recipe, seed, initStd, outInitStd, linearAlpha: alpha } = options;
    this.headDim = dim / options.heads;
    this.q = this.addModule('q', new Linear(dim, dim, { recipe, initStd, seed: seed + 1, alpha }));
    this.k = this.addModule('k', new Linear(dim, dim, { recipe, initStd, seed: seed + 2, alpha }));
    this.v = this.addModule('v', new Linear(dim, dim, { recipe, initStd, seed: seed + 3, alpha }));
    this.out = this.addModule('out', new Linear(dim, dim, { recipe, initStd: outInitStd, seed: seed + 4, alpha }));
  }

  /** x (B, T, C) → (B, T, C); with a cache, the new positions attend to the cached ones too. */
  apply(x: Tensor, cache?: AttentionCache): Tensor {
    return tidy(() => {
      const [B, T, C] = x.shape as [number, number, number];
      if (cache) {
        const [qx, kx, vx] = Linear.applyEach([this.q, this.k, this.v], x) as [Tensor, Tensor, Tensor];
        return this.out.apply(cache.attend(this, qx, kx, vx));
      }
      // The projections' outputs go as soon as they are split into heads.
      const [q, k, v] = tidy(() => {
        const [qx, kx, vx] = Linear.applyEach([this.q, this.k, this.v], x) as [Tensor, Tensor, Tensor];
        const heads = (t: Tensor) => this.splitHeads(t, B, T);
        return [this.rotate(heads(qx)), this.rotate(heads(kx)), heads(vx)];
      });
      const y = this.attendCausal(q, k, v); // (B, H, T, D)
      return this.out.apply(op.reshape(op.transpose(y, [0, 2, 1, 3]), [B, T, C]));
    });
  }

  /** (B·T, C) or (B, T, C) rows → (B, H, T, D). */
  splitHeads(t: Tensor, B: number, T: number): Tensor {
    return op.transpose(op.reshape(t, [B, T, this.options.heads, this.headDim]), [0, 2, 1, 3]);
  }

  /** RoPE on (B, H, T, D), batch entry b's first position at `offset[b]` (or `offset` for all). */
  rotate(t: Tensor, offset: number | readonly number[] = 0): Tensor {
    return op.rope(t, { base: this.options.ropeBase, offset });
  }

  /**
   * Attention of q (B, H, T, D) over k, v (B, H, S, D) with an additive mask (B or 1, 1, T, S),
   * 0 where a query may look and a large negative number where not (null: every key).
   */
  attendMasked(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): Tensor {
    const scaled = op.mulScalar(op.matMul(q, k, false, true), this.options.scoreScale); // (B, H, T, S) f32
    return op.matMul(op.softmax(mask ? op.add(scaled, mask) : scaled), v); // (B, H, T, D)
  }

  /** `apply` as graph nodes: x (B, T, C) → (B, T, C), the cache placing the new positions. */
  emit(g: GraphEmitter, x: string, cache: GraphAttentionCache): string {
    const [q, k, v] = [this.q, this.k, this.v].map((linear) => linear.emit(g, x)) as [string, string, string];
    return this.out.emit(g, cache.attend(g, this, q, k, v));
  }

  /** `splitHeads` as graph nodes: (B, T, C) → (B, H, T, D). */
  emitSplitHeads(g: GraphEmitter, t: string): string {
    const split = g.node('Reshape', [t, g.constInt([0, 0, this.options.heads, this.headDim])]);
    return g.node('Transpose', [split], { perm: { ints: [0, 2, 1, 3] } });
  }

  /** (B, H, T, D) → (B, T, C). */
  emitMergeHeads(g: GraphEmitter, y: string): string {
    return g.node('Reshape', [g.node('Transpose', [y], { perm: { ints: [0, 2, 1, 3] } }), g.constInt([0, 0, this.options.dim])]);
  }

  /** RoPE's cos and sin for positions (B, T) int64: (B, 1, T, D/2) each, shared by every layer. */
  emitRopeTables(g: GraphEmitter, positions: string): { cos: string; sin: string } {
    const D = this.headDim;
    const inverseFrequency = new Float32Array(D / 2).map((_, i) => this.options.ropeBase ** (-(2 * i) / D));
    const angles = g.node('Mul', [
      g.node('Unsqueeze', [g.node('Cast', [positions], { to: { int: 1 } }), g.constInt([1, 3])]), // (B, 1, T, 1) f32
      g.floats(`rope.inverse_frequency.${D}.${this.options.ropeBase}`, [D / 2], inverseFrequency),
    ]);
    return { cos: g.node('Cos', [angles]), sin: g.node('Sin', [angles]) };
  }

  /** `rotate` as graph nodes (rotate-half: pairs i, i + D/2), t (B, H, T, D). */
  emitRotate(g: GraphEmitter, t: string, { cos, sin }: { cos: string; sin: string }): string {
    const D = this.headDim;
    const half = D / 2;
    const x1 = g.node('Slice', [t, g.constInt([0]), g.constInt([half]), g.constInt([3])]);
    const x2 = g.node('Slice', [t, g.constInt([half]), g.constInt([D]), g.constInt([3])]);
    const first = g.node('Sub', [g.node('Mul', [x1, cos]), g.node('Mul', [x2, sin])]);
    const second = g.node('Add', [g.node('Mul', [x2, cos]), g.node('Mul', [x1, sin])]);
    return g.node('Concat', [first, second], { axis: { int: 3 } });
  }

  /** `attendMasked` as graph nodes; `allowed` (bool, broadcast to (B, H, T, S)) marks the keys a query sees. */
  emitAttendMasked(g: GraphEmitter, q: string, k: string, v: string, allowed: string): string {
    const keysT = g.node('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } });
    const scores = g.node('Mul', [g.node('MatMul', [q, keysT]), g.constFloat(this.options.scoreScale)]); // (B, H, T, S)
    const masked = g.node('Where', [allowed, scores, g.constFloat(MASKED_SCORE)]);
    return g.node('MatMul', [g.node('Softmax', [masked], { axis: { int: -1 } }), v]); // (B, H, T, D)
  }

  /** The training path's attention core: softmax(scale · q kᵀ, causal) v on (B, H, T, D), keeping q, k, v as the recipe stores activations. */
  private attendCausal(q: Tensor, k: Tensor, v: Tensor): Tensor {
    return causalAttention(q, k, v, {
      scale: this.options.scoreScale,
      activations: this.options.recipe.activations,
      recomputeProbabilities: this.options.recomputeProbabilities ?? true,
    });
  }
}
