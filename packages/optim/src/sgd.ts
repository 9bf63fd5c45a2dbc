/**
 * SGD with momentum, as PyTorch's `torch.optim.SGD` (dampening 0): g ← g + wd·p (L2, coupled);
 * b ← μ·b + g; d = g + μ·b (Nesterov) or b; p ← p − lr·d. 4 bytes of state per parameter with
 * momentum, none without.
 */
import { check, op, type Tensor, tidy, type Variable } from '@octet/core';
import { OptimizerBase, type StateScalar } from './optimizer.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

export interface SGDOptions {
  lr: number;
  /** Momentum μ in [0, 1) (default 0.9; 0: plain SGD, no state). */
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0), for groups with `weightDecay` on. */
  weightDecay?: number;
}

export class SGD extends OptimizerBase {
  readonly name = 'sgd';
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: readonly ParamGroup[] | readonly Variable[], { lr, momentum = 0.9, nesterov = false, weightDecay = 0 }: SGDOptions) {
    super('SGD', params, lr);
    check(Number.isFinite(momentum) && momentum >= 0 && momentum < 1, 'SGD momentum', momentum, 'a number in [0, 1)');
    check(!nesterov || momentum > 0, 'SGD nesterov', nesterov, 'false when momentum is 0 (Nesterov needs momentum)');
    check(Number.isFinite(weightDecay) && weightDecay >= 0, 'SGD weightDecay', weightDecay, 'a number ≥ 0');
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    if (momentum > 0) for (const p of this.params()) this.addState(`${p.name}.momentum_buffer`, op.zeros(p.shape));
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    tidy(() => {
      let d = group.weightDecay && this.weightDecay > 0 ? op.add(g, op.mulScalar(p, this.weightDecay)) : g;
      if (this.momentum > 0) {
        const buffer = this.getState(`${p.name}.momentum_buffer`);
        const next = op.add(op.mulScalar(buffer, this.momentum), d);
        buffer.assign(next);
        d = this.nesterov ? op.add(d, op.mulScalar(next, this.momentum)) : next;
      }
      p.assign(op.sub(p, op.mulScalar(d, lr)));
    });
  }

  protected override scalars(): Record<string, StateScalar> {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }
}
