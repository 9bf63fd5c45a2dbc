/**
 * MicroAdam (Modoranu et al. 2024): Adam statistics from a sliding window of sparse gradients.
 * Each step: a = g + deq(e) (error feedback); keep the top-k (1%) of |a| in every block of 20,864
 * (the whole tensor when smaller) in a ring buffer of the last m = 10 steps (in-block uint16
 * offsets + bf16 values); whatever was not applied (a − kept values) becomes the new error, stored
 * in 4 bits per element with per-block min/max. The update is Adam's with m and v rebuilt from the
 * window:
 *   M = Σ β1^age·V,  S = Σ β2^age·V²,  p ← p·(1 − lr·wd) − lr·c1·M / (√(c2·S) + eps),
 *   c1 = (1−β1)/(1−β1^t),  c2 = (1−β2)/(1−β2^t).
 * State ≈ 0.5 (error) + m·density·4 (window) bytes per parameter: ≈ 0.9 B/param by default.
 */
import { check, op, type Tensor, tidy, type Variable } from '@octet/core';
import { AdamFamilyBase, type AdamFamilyOptions } from './adam-family.js';
import { decayed } from './adam-math.js';
import {
  bytesToUint16,
  dequantizeError4bit,
  fromBf16Bytes,
  quantizeError4bit,
  rowIndices,
  selectTopK,
  type TopKLayout,
  toBf16Bytes,
  topKLayout,
  uint16ToBytes,
  windowMoments,
} from './micro-adam-codec.js';
import type { HostValues, StateScalar } from './optimizer.js';
import { checkInteger } from './option-checks.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

export interface MicroAdamOptions extends AdamFamilyOptions {
  /** Fraction of each block kept per step, in (0, 1] (default 0.01). */
  density?: number;
  /** Steps in the ring buffer (default 10). */
  window?: number;
  /**
   * Elements per top-k block, at most 65536 (default 20864). The published kernel takes blocks as
   * large as a thread block's shared memory holds: 20,864 floats on an A100 (29,056 on an H100).
   * Small blocks force k picks into every block, however small its gradients (2048 measured far
   * worse from scratch: see the README).
   */
  blockSize?: number;
  /** Elements per min/max block of the 4-bit error (default 128). */
  errorBlockSize?: number;
  /** How window values are held (default 'bf16'; 'f32' for exact tests). */
  valueFormat?: 'bf16' | 'f32';
  /** How the error feedback is held (default '4bit'; 'f32' for exact tests). */
  errorFormat?: '4bit' | 'f32';
}

interface ParamLayout {
  topK: TopKLayout;
}

export class MicroAdam extends AdamFamilyBase {
  readonly name = 'microadam';
  readonly density: number;
  readonly window: number;
  readonly blockSize: number;
  readonly errorBlockSize: number;
  readonly valueFormat: 'bf16' | 'f32';
  readonly errorFormat: '4bit' | 'f32';
  private readonly layouts = new Map<Variable, ParamLayout>();

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: MicroAdamOptions) {
    super('MicroAdam', params, options);
    const { density = 0.01, window = 10, blockSize = 20864, errorBlockSize = 128, valueFormat = 'bf16', errorFormat = '4bit' } = options;
    check(Number.isFinite(density) && density > 0 && density <= 1, 'MicroAdam density', density, 'a number in (0, 1]');
    checkInteger('MicroAdam window', window, 1);
    checkInteger('MicroAdam blockSize', blockSize, 1, 65536);
    checkInteger('MicroAdam errorBlockSize', errorBlockSize, 1);
    check(valueFormat === 'bf16' || valueFormat === 'f32', 'MicroAdam valueFormat', valueFormat, "'bf16' or 'f32'");
    check(errorFormat === '4bit' || errorFormat === 'f32', 'MicroAdam errorFormat', errorFormat, "'4bit' or 'f32'");
    this.density = density;
    this.window = window;
    this.blockSize = blockSize;
    this.errorBlockSize = errorBlockSize;
    this.valueFormat = valueFormat;
    this.errorFormat = errorFormat;
    for (const p of this.params()) {
      const topK = topKLayout(p.size, blockSize, density);
      this.layouts.set(p, { topK });
      this.addState(`${p.name}.window_offsets`, op.tensor(new Uint8Array(window * topK.k * 2), [window, topK.k, 2], 'uint8'));
      this.addState(
        `${p.name}.window_values`,
        valueFormat === 'bf16' ? op.tensor(new Uint8Array(window * topK.k * 2), [window, topK.k, 2], 'uint8') : op.zeros([window, topK.k]),
      );
      if (errorFormat === 'f32') this.addState(`${p.name}.error`, op.zeros([p.size]));
      else {
        const blocks = Math.ceil(p.size / errorBlockSize);
        this.addState(`${p.name}.error`, op.tensor(new Uint8Array(Math.ceil(p.size / 2)), [Math.ceil(p.size / 2)], 'uint8'));
        this.addState(`${p.name}.error_min`, op.zeros([blocks]));
        this.addState(`${p.name}.error_max`, op.zeros([blocks]));
      }
    }
  }

  /** Every step reads the gradient, the error feedback and the window on the host. */
  protected override hostReads(p: Variable, g: Tensor): Record<string, Tensor> {
    const state = (suffix: string) => this.getState(`${p.name}.${suffix}`);
    const reads: Record<string, Tensor> = { gradient: g, error: state('error') };
    if (this.errorFormat === '4bit') Object.assign(reads, { errorMin: state('error_min'), errorMax: state('error_max') });
    return { ...reads, windowOffsets: state('window_offsets'), windowValues: state('window_values') };
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    const t = this.stepCount;
    const { topK } = this.layouts.get(p)!;
    // ---- host side (see micro-adam-codec.ts) ----
    const host = this.readHost(p, g);
    const a = host.gradient as Float32Array;
    const error = this.decodeError(p, host);
    for (let i = 0; i < a.length; i++) a[i]! += error[i]!;
    const { offsets, indices } = selectTopK(a, topK);
    const picked = new Float32Array(topK.k);
    for (let j = 0; j < topK.k; j++) picked[j] = a[indices[j]!]!;
    const stored = this.valueFormat === 'bf16' ? toBf16Bytes(picked) : { bytes: null, rounded: picked };
    // The new error is everything not applied, the rounding of the kept values included.
    for (let j = 0; j < topK.k; j++) a[indices[j]!]! -= stored.rounded[j]!;
    const row = (t - 1) % this.window;
    tidy(() => {
      this.writeError(p, a);
      const windowOffsets = this.getState(`${p.name}.window_offsets`);
      const offsetBytes = host.windowOffsets as Uint8Array;
      offsetBytes.set(uint16ToBytes(offsets), row * topK.k * 2);
      windowOffsets.assign(op.tensor(offsetBytes, windowOffsets.shape, 'uint8'));
      const windowValues = this.getState(`${p.name}.window_values`);
      const valueData = host.windowValues!;
      if (stored.bytes) (valueData as Uint8Array).set(stored.bytes, row * topK.k * 2);
      else (valueData as Float32Array).set(stored.rounded, row * topK.k);
      windowValues.assign(op.tensor(valueData, windowValues.shape, windowValues.dtype));
      // Row i was last written at step t − age, age = (t − 1 − i) mod window; rows never written yet are skipped.
      const rows = this.readWindow(p, offsetBytes, valueData).map((r, i) => {
        const age = (((t - 1 - i) % this.window) + this.window) % this.window;
        return { ...r, age: age < t ? age : -1 };
      });
      const { m, s } = windowMoments(p.size, rows, this.beta1, this.beta2);
      // ---- device side: Adam's update from the window's statistics ----
      const c1 = (1 - this.beta1) / (1 - this.beta1 ** t);
      const c2 = (1 - this.beta2) / (1 - this.beta2 ** t);
      const denominator = op.addScalar(op.sqrt(op.mulScalar(op.tensor(s, p.shape), c2)), this.eps);
      const update = op.div(op.mulScalar(op.tensor(m, p.shape), lr * c1), denominator);
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
    });
  }

  private readWindow(p: Variable, offsetBytes: Uint8Array, valueData: ArrayLike<number>): { indices: Int32Array; values: Float32Array }[] {
    const { topK } = this.layouts.get(p)!;
    const rows: { indices: Int32Array; values: Float32Array }[] = [];
    for (let r = 0; r < this.window; r++) {
      const offsets = bytesToUint16(offsetBytes.subarray(r * topK.k * 2, (r + 1) * topK.k * 2));
      const values =
        this.valueFormat === 'bf16'
          ? fromBf16Bytes((valueData as Uint8Array).subarray(r * topK.k * 2, (r + 1) * topK.k * 2))
          : (valueData as Float32Array).slice(r * topK.k, (r + 1) * topK.k);
      rows.push({ indices: rowIndices(offsets, topK), values });
    }
    return rows;
  }

  private writeError(p: Variable, residual: Float32Array): void {
    const error = this.getState(`${p.name}.error`);
    if (this.errorFormat === 'f32') {
      error.assign(op.tensor(residual, error.shape));
      return;
    }
    const { codes, min, max } = quantizeError4bit(residual, this.errorBlockSize);
    error.assign(op.tensor(codes, error.shape, 'uint8'));
    this.getState(`${p.name}.error_min`).assign(op.tensor(min, [min.length]));
    this.getState(`${p.name}.error_max`).assign(op.tensor(max, [max.length]));
  }

  /** The error feedback e of `p` as f32 (what the next step adds to its gradient). Host-side read. */
  errorFeedback(p: Variable): Float32Array {
    const state = (suffix: string) => this.getState(`${p.name}.${suffix}`).dataSync();
    if (this.errorFormat === 'f32') return this.decodeError(p, { error: state('error') });
    return this.decodeError(p, { error: state('error'), errorMin: state('error_min'), errorMax: state('error_max') });
  }

  /** e as f32 from its stored form: `error` (f32, or 4-bit codes with `errorMin` and `errorMax` per block). */
  private decodeError(p: Variable, stored: HostValues): Float32Array {
    if (this.errorFormat === 'f32') return stored.error as Float32Array;
    return dequantizeError4bit(
      stored.error as Uint8Array,
      stored.errorMin as Float32Array,
      stored.errorMax as Float32Array,
      this.errorBlockSize,
      p.size,
    );
  }

  /** The values the latest step put in the window, as a dense f32 vector (zero elsewhere). Host-side read. */
  lastApplied(p: Variable): Float32Array {
    const dense = new Float32Array(p.size);
    if (this.stepCount === 0) return dense;
    const row = this.readWindow(
      p,
      this.getState(`${p.name}.window_offsets`).dataSync() as Uint8Array,
      this.getState(`${p.name}.window_values`).dataSync(),
    )[(this.stepCount - 1) % this.window]!;
    for (let j = 0; j < row.indices.length; j++) dense[row.indices[j]!]! += row.values[j]!;
    return dense;
  }

  protected override scalars(): Record<string, StateScalar> {
    const { density, window, blockSize, errorBlockSize, valueFormat, errorFormat } = this;
    return { density, window, blockSize, errorBlockSize, valueFormat, errorFormat };
  }
}
