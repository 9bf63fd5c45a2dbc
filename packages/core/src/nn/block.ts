import { tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { type AttentionCache, CausalSelfAttention, type GraphAttentionCache } from './attention.js';
import { type GraphEmitter, scaled } from './graph.js';
import { Mlp } from './mlp.js';
import { Module } from './module.js';
import { RMSNorm } from './norm.js';

/**
 * What a block's layout is made of: its sub-modules and the residual arithmetic, over tensors
 * (training and decoding) or graph values (export). One layout serves all three.
 */
export interface BlockOps<V> {
  attention(x: V): V;
  mlp(x: V): V;
  attentionNorm(x: V): V;
  mlpNorm(x: V): V;
  add(a: V, b: V): V;
  scale(x: V, factor: number): V;
}

export interface BlockOptions {
  dim: number;
  heads: number;
  mlpHidden: number;
  activation: 'gelu' | 'swiglu';
  recipe: Recipe;
  seed: number;
  /** Number of blocks in the model (GPT-2 scales residual projections' init by 1/√(2·layers)). */
  layers: number;
  ropeBase: number;
  /** Recompute attention probabilities in backward instead of saving them (the default). */
  recomputeProbabilities?: boolean;
}

/**
 * Transformer block in one of two layouts, chosen by the recipe's parametrization:
 * - standard (pre-LN, GPT-2 init): h = h + attn(norm(h)); h = h + mlp(norm(h)).
 * - unit (μnit Scaling): unit-variance init, Linear outputs × fan_in^-½, attention scores × 1/d_head,
 *   and τ-weighted residuals with the norm after each branch (res-post-LN):
 *   h = h/√(1+τ²) + τ/√(1+τ²) · norm(f(h)), which keeps h at unit variance.
 */
export class Block extends Module {
  readonly attention: CausalSelfAttention;
  readonly mlp: Mlp;
  readonly attentionNorm: RMSNorm;
  readonly mlpNorm: RMSNorm;
  readonly unit: boolean;
  protected readonly skipWeight: number;
  protected readonly branchWeight: number;

  constructor(options: BlockOptions) {
    super();
    const { dim, heads, mlpHidden, activation, recipe, seed, layers, ropeBase, recomputeProbabilities } = options;
    this.unit = recipe.parametrization === 'unit';
    const headDim = dim / heads;
    const std = this.unit ? 1 : 0.02;
    const outStd = this.unit ? 1 : 0.02 / Math.sqrt(2 * layers);
    this.attention = this.addModule(
      'attn',
      new CausalSelfAttention({
        dim,
        heads,
        recipe,
        seed: seed + 10,
        initStd: std,
        outInitStd: outStd,
        linearAlpha: this.unit ? 1 / Math.sqrt(dim) : 1,
        scoreScale: this.unit ? 1 / headDim : 1 / Math.sqrt(headDim),
        ropeBase,
        recomputeProbabilities,
      }),
    );
    this.mlp = this.addModule(
      'mlp',
      new Mlp({
        dim,
        hidden: mlpHidden,
        activation,
        recipe,
        seed: seed + 20,
        initStd: std,
        outInitStd: outStd,
        upAlpha: this.unit ? 1 / Math.sqrt(dim) : 1,
        downAlpha: this.unit ? 1 / Math.sqrt(mlpHidden) : 1,
      }),
    );
    // The unit layout normalises branch outputs without a gain: the τ weights set the mix.
    const normOptions = { learnableGain: !this.unit, activations: recipe.activations };
    this.attentionNorm = this.addModule('attn_norm', new RMSNorm(dim, normOptions));
    this.mlpNorm = this.addModule('mlp_norm', new RMSNorm(dim, normOptions));
    const tau = recipe.tau;
    this.skipWeight = 1 / Math.sqrt(1 + tau * tau);
    this.branchWeight = tau / Math.sqrt(1 + tau * tau);
  }

  /** h (B, T, C) → (B, T, C); with a cache, attention also sees the cached positions. */
  apply(h: Tensor, cache?: AttentionCache): Tensor {
    return tidy(() =>
      this.layout<Tensor>(h, {
        attention: (x) => this.attention.apply(x, cache),
        mlp: (x) => this.mlp.apply(x),
        attentionNorm: (x) => this.attentionNorm.apply(x),
        mlpNorm: (x) => this.mlpNorm.apply(x),
        add: op.add,
        scale: op.mulScalar,
      }),
    );
  }

  /** The same layout as graph nodes: h (B, T, C) → (B, T, C). */
  emit(g: GraphEmitter, h: string, cache: GraphAttentionCache): string {
    return this.layout<string>(h, {
      attention: (x) => this.attention.emit(g, x, cache),
      mlp: (x) => this.mlp.emit(g, x),
      attentionNorm: (x) => this.attentionNorm.emit(g, x),
      mlpNorm: (x) => this.mlpNorm.emit(g, x),
      add: (a, b) => g.node('Add', [a, b]),
      scale: (x, factor) => scaled(g, x, factor),
    });
  }

  /** The block's math, once: a variant block overrides this and trains, decodes and exports as it says. */
  protected layout<V>(h: V, f: BlockOps<V>): V {
    if (!this.unit) {
      const afterAttention = f.add(h, f.attention(f.attentionNorm(h)));
      return f.add(afterAttention, f.mlp(f.mlpNorm(afterAttention)));
    }
    const mix = (skip: V, branch: V) => f.add(f.scale(skip, this.skipWeight), f.scale(branch, this.branchWeight));
    const afterAttention = mix(h, f.attentionNorm(f.attention(h)));
    return mix(afterAttention, f.mlpNorm(f.mlp(afterAttention)));
  }
}
