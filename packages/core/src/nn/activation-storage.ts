/**
 * How a layer keeps the activations its backward reads (COAT's mixed granularity): as they are
 * (`f32`), or (`fp8`) as e4m3 codes with one f32 scale per group of 16 along the last axis, decoded
 * in backward. Group scaling keeps an outlier from flushing its neighbours: each group is scaled so
 * its amax lands on e4m3's max.
 */
import { tidy } from '../engine.js';
import { check } from '../errors.js';
import { FP8_FORMATS } from '../numerics.js';
import * as op from '../ops/ops.js';
import type { ActivationStorage } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';

/** Elements per scale when activations are saved in FP8 (COAT's 1×16 groups). */
export const ACTIVATION_GROUP = 16;
const FORMAT = 'e4m3fn';
/** The smallest amax a group is scaled by, so an all-zero group gets a finite scale (its codes are 0 anyway). */
const TINY_AMAX = 2 ** -100;

/** e4m3 codes (G, 16) and f32 scales (G, 1) of x, grouped by 16 along the last axis: code = e4m3(x · scale), scale = 448 / amax. */
export function quantizeGroups(x: Tensor): { codes: Tensor; scales: Tensor } {
  check(
    x.shape[x.rank - 1]! % ACTIVATION_GROUP === 0,
    'quantizeGroups: x shape',
    `[${x.shape.join(', ')}]`,
    `a last dimension divisible by ${ACTIVATION_GROUP}`,
  );
  return tidy(() => {
    const groups = op.reshape(x, [x.size / ACTIVATION_GROUP, ACTIVATION_GROUP]);
    const amax = op.maximum(op.amax(groups, 1, true), op.scalar(TINY_AMAX));
    const scales = op.div(op.scalar(FP8_FORMATS[FORMAT].max), amax);
    return { codes: op.quantizeTensor(op.mul(groups, scales), op.scalar(1), FORMAT), scales };
  });
}

/** The f32 values of `quantizeGroups`' codes, in `shape`. */
export function dequantizeGroups(codes: Tensor, scales: Tensor, shape: readonly number[]): Tensor {
  return tidy(() => op.reshape(op.div(op.dequantizeTensor(codes, op.scalar(1), FORMAT), scales), shape));
}

/**
 * Saves `x` for backward through `save` (a custom op's) as `storage` says and returns how backward
 * reads it back. While not recording nothing is saved or quantized. A last axis that does not
 * divide into groups of 16 is saved as it is.
 */
export function saveActivation(
  x: Tensor,
  storage: ActivationStorage,
  save: <T extends Tensor>(t: T) => T,
  recording: boolean,
): () => Tensor {
  if (!recording) return () => x;
  if (storage === 'f32' || x.shape[x.rank - 1]! % ACTIVATION_GROUP !== 0) {
    const held = save(x);
    return () => held;
  }
  const { codes, scales } = quantizeGroups(x);
  const heldCodes = save(codes);
  const heldScales = save(scales);
  return () => dequantizeGroups(heldCodes, heldScales, x.shape);
}
