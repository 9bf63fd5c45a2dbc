/**
 * FP8 health of every quantized GEMM operand: amax, scale, the fraction of elements that saturate
 * (|x·scale| above the format's max before the cast) and the fraction of nonzero elements flushed
 * to a zero code. Computed with ordinary ops (so on any backend), only while a probe is armed.
 */

import { keep, tidy } from '../engine.js';
import { FP8_FORMATS, type Fp8Format } from '../numerics.js';
import * as op from '../ops/ops.js';
import type { Tensor } from '../tensor.js';
import type { Module } from './module.js';

/** The GEMM operand: the layer input and weight (forward), the output gradient (backward). */
export type Fp8Operand = 'x' | 'w' | 'dy';

export interface Fp8OperandHealth {
  /** Module path of the Linear, e.g. `blocks.0.mlp.fc`. */
  layer: string;
  operand: Fp8Operand;
  format: Fp8Format;
  amax: number;
  /** The multiplier applied before the cast. */
  scale: number;
  /** Fraction of all elements with |x·scale| > the format's max (clamped or overflowed). */
  saturated: number;
  /** Fraction of the nonzero elements whose FP8 code is zero. */
  flushed: number;
}

/** Elements per pass of the statistics: their temporaries stay this small whatever the operand's size. */
const STATS_CHUNK = 1 << 16;

/**
 * [amax, scale, saturated, flushed] of one operand as a (4,) tensor. `q` is `x` quantized with
 * `scale`; nothing is read back, so this costs a few elementwise passes and no sync. The counts
 * are summed chunk by chunk along the first axis (exact: sums of ones below 2^24), so the
 * temporaries never outgrow a chunk.
 */
export function fp8OperandStats(x: Tensor, scale: Tensor, q: Tensor, format: Fp8Format): Tensor {
  const max = FP8_FORMATS[format].max;
  const s = op.reshape(scale, [1]);
  const amax = op.reshape(op.amax(x), [1]);
  const rows = x.rank === 0 ? 1 : x.shape[0]!;
  const width = x.size / Math.max(rows, 1);
  const rowsPerChunk = Math.max(1, Math.floor(STATS_CHUNK / Math.max(width, 1)));
  const counts: Tensor[] = []; // per chunk: [saturated, nonzero, flushed] (3,)
  for (let start = 0; start < rows; start += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - start);
    counts.push(
      tidy(() => {
        const part = (t: Tensor) =>
          n === rows ? op.reshape(t, [rows, width]) : op.slice(op.reshape(t, [rows, width]), [start, 0], [n, width]);
        const xs = part(x);
        // step(t) is 1 where t > 0: |x·scale| − max > 0 marks a saturated element.
        const saturated = op.sum(op.step(op.addScalar(op.abs(op.mul(xs, s)), -max)));
        const nonzero = op.step(op.abs(xs));
        const zeroCode = op.affine(op.step(op.abs(op.dequantizeTensor(part(q), s, format))), -1, 1);
        return op.concat(
          [saturated, op.sum(nonzero), op.sum(op.mul(nonzero, zeroCode))].map((c) => op.reshape(c, [1])),
          0,
        );
      }),
    );
  }
  const total =
    counts.length === 1
      ? counts[0]!
      : op.sum(
          op.concat(
            counts.map((c) => op.reshape(c, [1, 3])),
            0,
          ),
          0,
        );
  const [saturatedCount, nonzeroCount, flushedCount] = [0, 1, 2].map((i) => op.reshape(op.slice(total, [i], [1]), []));
  const saturated = op.reshape(op.mulScalar(saturatedCount!, 1 / Math.max(x.size, 1)), [1]);
  const flushed = op.reshape(op.div(flushedCount!, op.maximum(nonzeroCount!, op.scalar(1))), [1]);
  return op.concat([amax, s, saturated, flushed], 0);
}

/**
 * Collects operand statistics while armed. Arm it before a training step, then `collect()` after
 * it: the statistics of every FP8 GEMM that step ran, in execution order.
 */
export class Fp8HealthProbe {
  private armed = false;
  private pending: { layer: string; operand: Fp8Operand; format: Fp8Format; stats: Tensor }[] = [];

  arm(): void {
    this.armed = true;
  }

  get isArmed(): boolean {
    return this.armed;
  }

  /** Called by Linear for each quantized operand; a no-op unless armed. */
  record(layer: string, operand: Fp8Operand, x: Tensor, scale: Tensor, q: Tensor, format: Fp8Format): void {
    if (!this.armed) return;
    // The statistics alone outlive this call (kept: the step's scope must not dispose them before
    // they are read); the passes that compute them go with their own scope.
    this.pending.push({ layer, operand, format, stats: keep(tidy(() => fp8OperandStats(x, scale, q, format))) });
  }

  /** Reads and frees what was recorded since `arm()`, and disarms. */
  async collect(): Promise<Fp8OperandHealth[]> {
    this.armed = false;
    const pending = this.pending;
    this.pending = [];
    const out: Fp8OperandHealth[] = [];
    for (const { layer, operand, format, stats } of pending) {
      const [amax, scale, saturated, flushed] = (await stats.data()) as Float32Array;
      stats.dispose();
      out.push({ layer, operand, format, amax: amax!, scale: scale!, saturated: saturated!, flushed: flushed! });
    }
    return out;
  }
}

/** A module that reports FP8 operand health when given a probe (Linear does). */
interface HealthReporting {
  /** Returns whether the module has FP8 GEMMs to report on. */
  setHealthProbe(probe: Fp8HealthProbe | null, layer: string): boolean;
}

const reportsHealth = (m: Module): m is Module & HealthReporting => typeof (m as Partial<HealthReporting>).setHealthProbe === 'function';

/** Attaches `probe` to every module under `model` that reports FP8 health; returns the paths of those with FP8 GEMMs. */
export function attachFp8HealthProbe(model: Module, probe: Fp8HealthProbe | null): string[] {
  const layers: string[] = [];
  for (const [path, module] of model.namedModules()) {
    if (!reportsHealth(module)) continue;
    if (module.setHealthProbe(probe, path)) layers.push(path);
  }
  return layers;
}
