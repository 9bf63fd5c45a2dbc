import { tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { CausalSelfAttention } from './attention.js';
import { Mlp } from './mlp.js';
import { Module } from './module.js';
import { RMSNorm } from './norm.js';

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
  private readonly skipWeight: number;
  private readonly branchWeight: number;

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

  /** h (B, T, C) → (B, T, C). */
  apply(h: Tensor): Tensor {
    return tidy(() => {
      if (!this.unit) {
        const afterAttention = op.add(h, this.attention.apply(this.attentionNorm.apply(h)));
        return op.add(afterAttention, this.mlp.apply(this.mlpNorm.apply(afterAttention)));
      }
      const mix = (skip: Tensor, branch: Tensor) => op.add(op.mulScalar(skip, this.skipWeight), op.mulScalar(branch, this.branchWeight));
      const afterAttention = mix(h, this.attentionNorm.apply(this.attention.apply(h)));
      return mix(afterAttention, this.mlpNorm.apply(this.mlp.apply(afterAttention)));
    });
  }
}
