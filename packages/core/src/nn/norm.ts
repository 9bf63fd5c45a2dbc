import { ENGINE, tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { ActivationStorage } from '../recipes/recipes.js';
import type { Tensor, Variable } from '../tensor.js';
import { saveActivation } from './activation-storage.js';
import type { GraphEmitter } from './graph.js';
import { Module } from './module.js';

/**
 * RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · gain (gain optional). One autograd op that
 * keeps only x (as `activations` says: f32, or FP8 in 1×16 groups) and recomputes the rest.
 */
export class RMSNorm extends Module {
  readonly gain: Variable | null;
  readonly eps: number;
  private readonly activations: ActivationStorage;

  constructor(
    readonly dim: number,
    {
      eps = 1e-5,
      learnableGain = true,
      activations = 'f32',
    }: { eps?: number; learnableGain?: boolean; activations?: ActivationStorage } = {},
  ) {
    super();
    this.eps = eps;
    this.activations = activations;
    this.gain = learnableGain ? this.addVariable('gain', op.ones([dim])) : null;
  }

  /** x · (mean(x²) + eps)^-½ over the last axis, and that inverse RMS (..., 1). */
  private normalize(x: Tensor): { normed: Tensor; inverseRms: Tensor } {
    const inverseRms = op.rsqrt(op.addScalar(op.mean(op.square(x), -1, true), this.eps));
    return { normed: op.mul(x, inverseRms), inverseRms };
  }

  apply(x: Tensor): Tensor {
    const gain = this.gain;
    return tidy(() =>
      ENGINE.customOp(gain ? [x, gain] : [x], (save, recording) => {
        const load = saveActivation(x, this.activations, save, recording);
        const savedGain = gain && save(gain);
        const { normed } = this.normalize(x);
        const output = gain ? op.mul(normed, gain) : normed;
        const backward = (dy: Tensor): Tensor[] => {
          const { normed, inverseRms } = this.normalize(load());
          const dNormed = savedGain ? op.mul(dy, savedGain) : dy;
          // d/dx of x·r with r = (mean(x²)+eps)^-½: r · (dn − normed · mean(dn · normed)).
          const dx = op.mul(inverseRms, op.sub(dNormed, op.mul(normed, op.mean(op.mul(dNormed, normed), -1, true))));
          return savedGain ? [dx, op.sumToShape(op.mul(dy, normed), savedGain.shape)] : [dx];
        };
        return { output, backward };
      }),
    );
  }

  /** `apply` as graph nodes: x / sqrt(mean(x²) + eps) · gain. */
  emit(g: GraphEmitter, x: string): string {
    const meanSquare = g.node('ReduceMean', [g.node('Mul', [x, x]), g.constInt([-1])], { keepdims: { int: 1 } });
    const inverseRms = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [meanSquare, g.constFloat(this.eps)])])]);
    const normed = g.node('Mul', [x, inverseRms]);
    return this.gain ? g.node('Mul', [normed, g.weight(this.gain.name, this.gain, { storage: 'f32' })]) : normed;
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
    return tidy(() => {
      const centered = op.sub(x, op.mean(x, -1, true));
      const inverseStd = op.rsqrt(op.addScalar(op.mean(op.square(centered), -1, true), this.eps));
      return op.add(op.mul(op.mul(centered, inverseStd), this.gain), this.bias);
    });
  }
}
