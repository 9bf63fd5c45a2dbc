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

/**
 * Activation recomputation reruns a forward in backward; that rerun must quantize with the scales
 * the first run used (delayed scaling has moved its history on since, and records nothing twice).
 * While a forward is logged, the forward operands' scales are kept in order; a replay hands them
 * out again in the same order.
 */
interface ScaleLog {
  mode: 'record' | 'replay';
  scales: Tensor[];
  next: number;
  save: (t: Tensor) => Tensor;
}
let scaleLog: ScaleLog | null = null;

function withScaleLog<T>(log: ScaleLog, fn: () => T): T {
  const outer = scaleLog;
  scaleLog = log;
  try {
    return fn();
  } finally {
    scaleLog = outer;
  }
}

/** Runs a forward, keeping (through `save`) every forward-operand scale it uses, in order. */
export function logScales<T>(save: (t: Tensor) => Tensor, fn: () => T): { result: T; scales: Tensor[] } {
  const log: ScaleLog = { mode: 'record', scales: [], next: 0, save };
  return { result: withScaleLog(log, fn), scales: log.scales };
}

/** Reruns a forward logged by `logScales` with the scales it used. */
export function replayScales<T>(scales: Tensor[], fn: () => T): T {
  return withScaleLog({ mode: 'replay', scales, next: 0, save: (t) => t }, fn);
}

/** Whether the forward running now is a replay (it reports and records nothing). */
export function replayingScales(): boolean {
  return scaleLog?.mode === 'replay';
}

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
    const log = this.role === 'gradient' ? null : scaleLog;
    if (log?.mode === 'replay') {
      const scale = log.scales[log.next++];
      if (!scale) throw new Error('activation recomputation: the replayed forward quantized more operands than the first run');
      return scale;
    }
    const scale = this.computeScale(x, record);
    if (log) log.scales.push(log.save(scale));
    return scale;
  }

  private computeScale(x: Tensor, record: boolean): Tensor {
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
