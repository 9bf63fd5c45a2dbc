import * as op from '../ops/ops.js';
import type { Tensor, Variable } from '../tensor.js';
import { Module } from './module.js';

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · gain (gain optional). */
export class RMSNorm extends Module {
  readonly gain: Variable | null;

  constructor(
    readonly dim: number,
    { eps = 1e-5, learnableGain = true }: { eps?: number; learnableGain?: boolean } = {},
  ) {
    super();
    this.eps = eps;
    this.gain = learnableGain ? this.addVariable('gain', op.ones([dim])) : null;
  }

  private readonly eps: number;

  apply(x: Tensor): Tensor {
    const inverseRms = op.rsqrt(op.addScalar(op.mean(op.square(x), -1, true), this.eps)); // (..., 1)
    const normed = op.mul(x, inverseRms);
    return this.gain ? op.mul(normed, this.gain) : normed;
  }
}

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) · gain + bias. */
export class LayerNorm extends Module {
  readonly gain: Variable;
  readonly bias: Variable;

  constructor(
    readonly dim: number,
    { eps = 1e-5 }: { eps?: number } = {},
  ) {
    super();
    this.eps = eps;
    this.gain = this.addVariable('gain', op.ones([dim]));
    this.bias = this.addVariable('bias', op.zeros([dim]));
  }

  private readonly eps: number;

  apply(x: Tensor): Tensor {
    const centered = op.sub(x, op.mean(x, -1, true));
    const inverseStd = op.rsqrt(op.addScalar(op.mean(op.square(centered), -1, true), this.eps));
    return op.add(op.mul(op.mul(centered, inverseStd), this.gain), this.bias);
  }
}
