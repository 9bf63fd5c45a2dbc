/**
 * Delayed scaling, as TransformerEngine's `DelayedScaling` recipe: the scale used to cast a
 * tensor at step t comes from the amaxes of steps before t, then step t's amax joins the history.
 *
 * - The history keeps the last `historyLength` amaxes (default 1024) of each scale.
 * - `amaxComputeAlgo: 'max'` uses the largest amax in the history; 'most_recent' the last one.
 * - scale = (fp8 max / amax) / 2^margin, in f32; where that amax is 0 or not finite the
 *   previous scale is kept (1 before the first step), as TE's update kernel does.
 *
 * One DelayedScaling object follows one tensor (e.g. the input of one Linear) across steps;
 * with a granularity finer than per tensor it keeps one history per tile.
 */

import type { Fp8Format } from '../dtypes/formats.js';
import { check } from '../errors.js';
import { checkMargin, computeScale } from './scale.js';

export type AmaxComputeAlgo = 'max' | 'most_recent';

export interface DelayedScalingOptions {
  /** How many past amaxes to keep. Default 1024 (TE's `amax_history_len`). */
  historyLength?: number;
  /** Headroom in powers of two. Default 0. */
  margin?: number;
  /** Default 'max'. */
  amaxComputeAlgo?: AmaxComputeAlgo;
}

export class DelayedScaling {
  readonly kind = 'delayed' as const;
  readonly historyLength: number;
  readonly margin: number;
  readonly amaxComputeAlgo: AmaxComputeAlgo;

  /** Ring buffer: row (k mod historyLength) holds the amaxes recorded at step k. */
  private history: Float32Array | null = null;
  private recordedSteps = 0;
  private lastScales: Float32Array | null = null;

  constructor(options: DelayedScalingOptions = {}) {
    const { historyLength = 1024, margin = 0, amaxComputeAlgo = 'max' } = options;
    check(Number.isInteger(historyLength) && historyLength >= 1, 'options.historyLength', historyLength, 'an integer ≥ 1');
    checkMargin(margin, 'options.margin');
    check(
      amaxComputeAlgo === 'max' || amaxComputeAlgo === 'most_recent',
      'options.amaxComputeAlgo',
      amaxComputeAlgo,
      "'max' or 'most_recent'",
    );
    this.historyLength = historyLength;
    this.margin = margin;
    this.amaxComputeAlgo = amaxComputeAlgo;
  }

  /** How many steps' amaxes have been recorded. */
  get steps(): number {
    return this.recordedSteps;
  }

  /** Number of scales this object follows (fixed by its first use), or null before it. */
  get scaleCount(): number | null {
    return this.lastScales?.length ?? null;
  }

  /** The scales handed out by the latest `nextScales` call, or null before it. */
  get scales(): Float32Array | null {
    return this.lastScales?.slice() ?? null;
  }

  /** The amaxes in the history, newest first: one Float32Array (one amax per scale) per step. */
  amaxHistory(): Float32Array[] {
    const rows: Float32Array[] = [];
    const history = this.history;
    if (history === null) return rows;
    const count = this.lastScales!.length;
    const kept = Math.min(this.recordedSteps, this.historyLength);
    for (let age = 0; age < kept; age++) {
      const row = (this.recordedSteps - 1 - age) % this.historyLength;
      rows.push(history.slice(row * count, (row + 1) * count));
    }
    return rows;
  }

  /**
   * The scales for the coming step, from the recorded history (TE's `amax_and_scale_update`).
   * `scaleCount` must match every earlier call.
   */
  nextScales(format: Fp8Format, scaleCount: number, options: { powerOfTwo?: boolean } = {}): Float32Array {
    this.ensureScaleCount(scaleCount);
    const previous = this.lastScales!;
    const history = this.history!;
    const kept = Math.min(this.recordedSteps, this.historyLength);
    const newestRow = (this.recordedSteps - 1 + this.historyLength) % this.historyLength;
    const scales = new Float32Array(scaleCount);
    for (let s = 0; s < scaleCount; s++) {
      let amax = 0;
      if (kept > 0 && this.amaxComputeAlgo === 'most_recent') {
        amax = history[newestRow * scaleCount + s]!;
      } else {
        // A comparison skips NaN, as CUDA's fmaxf does in TE's kernel.
        for (let row = 0; row < kept; row++) {
          const value = history[row * scaleCount + s]!;
          if (value > amax) amax = value;
        }
      }
      scales[s] = computeScale(amax, format, {
        margin: this.margin,
        powerOfTwo: options.powerOfTwo ?? false,
        fallback: previous[s]!,
      });
    }
    this.lastScales = scales;
    return scales.slice();
  }

  /** Appends this step's amaxes (one per scale) to the history, dropping the oldest beyond its length. */
  record(amax: Float32Array): void {
    check(amax instanceof Float32Array, 'amax', amax, 'a Float32Array');
    this.ensureScaleCount(amax.length);
    const row = this.recordedSteps % this.historyLength;
    this.history!.set(amax, row * amax.length);
    this.recordedSteps++;
  }

  private ensureScaleCount(scaleCount: number): void {
    if (this.lastScales === null) {
      check(Number.isInteger(scaleCount) && scaleCount >= 1, 'scaleCount', scaleCount, 'an integer ≥ 1');
      this.lastScales = new Float32Array(scaleCount).fill(1);
      this.history = new Float32Array(this.historyLength * scaleCount);
      return;
    }
    check(
      scaleCount === this.lastScales.length,
      'scale count of a DelayedScaling',
      scaleCount,
      `${this.lastScales.length}, the count it was first used with (one DelayedScaling follows one tensor)`,
    );
  }
}
