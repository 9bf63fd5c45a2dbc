/**
 * Where one GEMM operand's FP8 scale comes from, per the recipe: static (μnit Scaling), current
 * (this tensor's amax) or delayed (TransformerEngine's amax history, kept as a Variable so it is
 * saved in checkpoints and resumes exactly).
 */

import { keep } from '../engine.js';
import { FP8_FORMATS, type Fp8Format } from '../numerics.js';
import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor, Variable } from '../tensor.js';
import { Module } from './module.js';

export class Fp8TensorScaling extends Module {
  private readonly history: Variable | null;
  private readonly staticScales = new Map<number, Tensor>();

  readonly format: Fp8Format;

  constructor(
    private readonly recipe: Recipe,
    /** Which GEMM operand this scales: the layer input, its weight, or its output gradient. */
    readonly role: 'input' | 'weight' | 'gradient',
  ) {
    super();
    this.format = role === 'gradient' ? recipe.gradientFormat : recipe.forwardFormat;
    this.history = recipe.scaling === 'delayed' ? this.addVariable('amax_history', op.zeros([recipe.amaxHistoryLength]), false) : null;
  }

  /**
   * The scale to multiply `x` by before the cast. Delayed scaling uses the history of earlier
   * steps and then, when `record` is set, pushes this tensor's amax (TE's order).
   */
  scaleFor(x: Tensor, record: boolean): Tensor {
    const { scaling, margin, amaxComputeAlgo, powerOfTwoScales, amaxHistoryLength } = this.recipe;
    const attrs = { fp8Max: FP8_FORMATS[this.format].max, margin, powerOfTwo: powerOfTwoScales };
    if (scaling === 'static') return this.staticScale(x);
    if (scaling === 'current') return op.scaleFromAmax(op.reshape(op.amax(x), [1]), { ...attrs, reduce: 'most_recent' });
    const history = this.history!;
    const scale = op.scaleFromAmax(history, { ...attrs, reduce: amaxComputeAlgo });
    if (record) {
      const older = op.slice(history, [0], [amaxHistoryLength - 1]);
      history.assign(op.concat([op.reshape(op.amax(x), [1]), older], 0));
    }
    return scale;
  }

  /**
   * μnit Scaling's static scales: unit-scaled weights and activations need none (scale 1); the
   * output gradient of a mean loss over M rows is O(1/M), so it is scaled by the power of two ≥ M
   * (exact, and known from the shape alone).
   */
  private staticScale(x: Tensor): Tensor {
    const value = this.role === 'gradient' ? 2 ** Math.ceil(Math.log2(Math.max(1, x.shape[0]!))) : 1;
    let scale = this.staticScales.get(value);
    if (!scale || scale.isDisposed) {
      scale = keep(op.scalar(value));
      this.staticScales.set(value, scale);
    }
    return scale;
  }
}
