import { tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { causalAttention } from './causal-attention.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

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

  /** x (B, T, C) → (B, T, C). */
  apply(x: Tensor): Tensor {
    return tidy(() => {
      const [B, T, C] = x.shape as [number, number, number];
      const H = this.options.heads;
      const D = this.headDim;
      const heads = (t: Tensor) => op.transpose(op.reshape(t, [B, T, H, D]), [0, 2, 1, 3]); // (B, H, T, D)
      const rope = { base: this.options.ropeBase };
      // The projections' outputs go as soon as they are split into heads.
      const [q, k, v] = tidy(() => {
        const [qx, kx, vx] = Linear.applyEach([this.q, this.k, this.v], x) as [Tensor, Tensor, Tensor];
        return [op.rope(heads(qx), rope), op.rope(heads(kx), rope), heads(vx)];
      });
      const y = this.attendCausal(q, k, v); // (B, H, T, D)
      return this.out.apply(op.reshape(op.transpose(y, [0, 2, 1, 3]), [B, T, C]));
    });
  }

  /** softmax(scale · q kᵀ, causal) v, keeping q, k, v as the recipe stores activations. */
  private attendCausal(q: Tensor, k: Tensor, v: Tensor): Tensor {
    return causalAttention(q, k, v, {
      scale: this.options.scoreScale,
      activations: this.options.recipe.activations,
      recomputeProbabilities: this.options.recomputeProbabilities ?? true,
    });
  }
}
