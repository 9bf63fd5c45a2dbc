import { op, type Tensor } from '@octet/core';

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`. Everything stays on the device:
 * no read-back, so a GPU backend is not stalled. Returns the clipped gradients and the norm before clipping.
 */
export function clipByGlobalNorm(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; norm: Tensor } {
  const squares = grads.map((g) => op.sum(op.square(g)));
  const norm = op.sqrt(squares.reduce((a, b) => op.add(a, b)));
  const factor = op.minimum(op.scalar(1), op.div(op.scalar(maxNorm), op.addScalar(norm, 1e-6)));
  return { grads: grads.map((g) => op.mul(g, factor)), norm };
}
