/**
 * Activation recomputation (PyTorch's `torch.utils.checkpoint`): `fn`'s forward keeps only its
 * input; backward reruns it on a tape of its own and sends dy through that. Compute is traded for
 * memory: nothing inside `fn` is saved between the forward and the backward. The rerun quantizes
 * with the scales the first run used, so the gradients are the ones a plain run gives.
 */
import { ENGINE } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { logScales, replayScales } from './scaling-state.js';

/** `fn(x)`, recomputed in backward; `params` are the variables `fn` reads (they get gradients). */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[]): Tensor {
  return ENGINE.customOp([x, ...params], (save, recording) => {
    if (!recording) return { output: fn(x), backward: () => [] };
    const savedX = save(x);
    const { result: output, scales } = logScales(save, () => fn(x));
    const backward = (dy: Tensor) => ENGINE.recomputeGradients(() => replayScales(scales, () => fn(savedX)), [savedX, ...params], dy);
    return { output, backward };
  });
}
