/**
 * Scales, TransformerEngine's convention: `scale` multiplies the values before the cast,
 * q = fp8(x · scale), and `scaleInv = 1 / scale` multiplies the decoded values,
 * x ≈ decode(q) · scaleInv. `scaleInv` is what checkpoints store (`weight_scale_inv`).
 *
 * Where a scale comes from:
 * - static: given (μnit Scaling: the model is built so values are near unit scale; no amax);
 * - current: from the amax of the tensor being cast;
 * - delayed: from a history of earlier amaxes (see DelayedScaling).
 */

import { FP8_FORMATS, type Fp8Format } from '../dtypes/formats.js';
import { check } from '../errors.js';
import type { DelayedScaling } from './delayed.js';

/** A scale given up front: one number for every tile, or one per tile (row-major). */
export interface StaticScaling {
  readonly kind: 'static';
  readonly scale: number | Float32Array;
}

/** Scale from this tensor's own amax: scale = (fp8 max / amax) / 2^margin. */
export interface CurrentScaling {
  readonly kind: 'current';
  readonly margin: number;
}

export type ScaleSource = StaticScaling | CurrentScaling | DelayedScaling;

export function staticScaling(scale: number | Float32Array): StaticScaling {
  if (scale instanceof Float32Array) {
    check(
      scale.every((s) => Number.isFinite(s) && s > 0),
      'scale',
      scale,
      'positive finite scales',
    );
  } else {
    check(
      typeof scale === 'number' && Number.isFinite(scale) && scale > 0,
      'scale',
      scale,
      'a positive finite number or a Float32Array of them',
    );
  }
  return Object.freeze({ kind: 'static', scale });
}

export function currentScaling(options: { margin?: number } = {}): CurrentScaling {
  const { margin = 0 } = options;
  checkMargin(margin, 'options.margin');
  return Object.freeze({ kind: 'current', margin });
}

export function checkMargin(margin: unknown, argument: string): asserts margin is number {
  check(typeof margin === 'number' && Number.isFinite(margin) && margin >= 0, argument, margin, 'a finite number ≥ 0');
}

export interface ComputeScaleOptions {
  /** Headroom in powers of two: the scale is divided by 2^margin. Default 0. */
  margin?: number;
  /** Round the scale down to a power of two (then scaling is exact). Default false. */
  powerOfTwo?: boolean;
  /** The scale to use when amax is 0 or not finite. Default 1, as TransformerEngine. */
  fallback?: number;
}

const F32_MAX = 3.4028234663852886e38;

/**
 * TransformerEngine's scale from an amax, in f32 arithmetic: (fp8Max / amax) / 2^margin.
 * A zero, negative or non-finite amax gives `fallback` (1 by default; delayed scaling passes
 * the previous scale, as TE does), never inf or NaN; a scale that overflows f32 becomes the
 * largest f32. With `powerOfTwo` the scale is rounded down to a power of two.
 */
export function computeScale(amax: number, format: Fp8Format, options: ComputeScaleOptions = {}): number {
  const { margin = 0, powerOfTwo = false, fallback = 1 } = options;
  checkMargin(margin, 'options.margin');
  if (!(amax > 0) || !Number.isFinite(amax)) return fallback;
  const fp8Max = FP8_FORMATS[format].max;
  let scale = Math.fround(Math.fround(fp8Max / Math.fround(amax)) / Math.fround(2 ** margin));
  if (scale === Infinity) scale = F32_MAX;
  return powerOfTwo ? roundDownToPowerOfTwo(scale) : scale;
}

/** The largest power of two not above a positive f32 value (keeps only its exponent). */
export function roundDownToPowerOfTwo(value: number): number {
  if (!(value > 0) || value === Infinity) return value;
  const power = 2 ** Math.floor(Math.log2(value));
  return power > value ? power / 2 : power; // guards against log2 rounding up just below a power
}
