import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MlpOptions {
  dim: number;
  hidden: number;
  activation: 'gelu' | 'swiglu';
  recipe: Recipe;
  seed: number;
  initStd: number;
  outInitStd: number;
  /** Static output multipliers (μnit Scaling: fan_in^-½ of each Linear). */
  upAlpha: number;
  downAlpha: number;
}

/** Feed-forward block: GELU (up → gelu → down) or SwiGLU (silu(gate) · up → down). */
export class Mlp extends Module {
  readonly up: Linear;
  readonly gate: Linear | null;
  readonly down: Linear;

  constructor(readonly options: MlpOptions) {
    super();
    const { dim, hidden, recipe, seed, initStd, outInitStd, upAlpha, downAlpha } = options;
    this.up = this.addModule('up', new Linear(dim, hidden, { recipe, initStd, seed: seed + 1, alpha: upAlpha }));
    this.gate =
      options.activation === 'swiglu'
        ? this.addModule('gate', new Linear(dim, hidden, { recipe, initStd, seed: seed + 2, alpha: upAlpha }))
        : null;
    this.down = this.addModule('down', new Linear(hidden, dim, { recipe, initStd: outInitStd, seed: seed + 3, alpha: downAlpha }));
  }

  apply(x: Tensor): Tensor {
    const hidden = this.gate ? op.mul(op.silu(this.gate.apply(x)), this.up.apply(x)) : op.gelu(this.up.apply(x));
    return this.down.apply(hidden);
  }
}
