/**
 * Linear layer, y = alpha · x Wᵀ, with W (out, in). Under an FP8 recipe the whole layer is one
 * autograd op: it quantizes x and W, runs fprop as a scaled matmul, saves the FP8 x (not the f32
 * one) for backward, and runs dgrad and wgrad as scaled matmuls on the FP8 output gradient.
 */
import type { DataId } from '../backend.js';
import { ENGINE, keep, tidy } from '../engine.js';
import { check } from '../errors.js';
import { FP8_FORMATS } from '../numerics.js';
import * as op from '../ops/ops.js';
import type { Recipe } from '../recipes/recipes.js';
import type { Tensor, Variable } from '../tensor.js';
import type { Fp8HealthProbe } from './fp8-health.js';
import { type GraphEmitter, ONNX_FLOAT, ONNX_FP8_TYPE, pathOf, scaled } from './graph.js';
import { Module } from './module.js';
import { Fp8TensorScaling, replayingScales } from './scaling-state.js';

export interface LinearOptions {
  recipe: Recipe;
  /** Standard deviation of the N(0, std²) init. */
  initStd: number;
  seed: number;
  /** Static output multiplier (μnit Scaling: fan_in^-½); 1 for standard models. */
  alpha?: number;
  /** Keep this layer out of FP8 (embedding-adjacent layers such as the LM head). */
  highPrecision?: boolean;
}

export class Linear extends Module {
  readonly weight: Variable;
  readonly alpha: number;
  readonly recipe: Recipe;
  readonly highPrecision: boolean;
  /** Per-GEMM-operand FP8 scaling state: input, weight, output gradient. */
  readonly scaling: { input: Fp8TensorScaling; weight: Fp8TensorScaling; gradient: Fp8TensorScaling } | null;
  /** When false, delayed scaling does not record amaxes (evaluation). */
  training = true;
  /** Where FP8 operand statistics go while training, and this layer's module path. */
  private health: { probe: Fp8HealthProbe; layer: string } | null = null;
  /**
   * Evaluation quantizes the weight once and reuses its codes while the weight's storage is
   * unchanged (serving decodes one token at a time; the weight does not change between them).
   * Dropped as soon as the layer trains again.
   */
  private frozenWeight: { data: DataId; scale: Tensor; codes: Tensor } | null = null;
  /** What `applyEach` multiplies by when this layer leads layers sharing one input (see `stackedWeight`). */
  private stacked: { layers: readonly Linear[]; data: DataId[]; scale: Tensor; codes: Tensor } | null = null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions,
  ) {
    super();
    this.recipe = options.recipe;
    this.alpha = options.alpha ?? 1;
    this.highPrecision = options.highPrecision ?? false;
    this.weight = this.addVariable('weight', op.randomNormal([outFeatures, inFeatures], { std: options.initStd, seed: options.seed }));
    const fp8 = this.recipe.precision === 'fp8' && !this.highPrecision;
    this.scaling = fp8
      ? {
          input: this.addModule('input_scaling', new Fp8TensorScaling(this.recipe, 'input')),
          weight: this.addModule('weight_scaling', new Fp8TensorScaling(this.recipe, 'weight')),
          gradient: this.addModule('gradient_scaling', new Fp8TensorScaling(this.recipe, 'gradient')),
        }
      : null;
  }

  setHealthProbe(probe: Fp8HealthProbe | null, layer: string): boolean {
    this.health = probe ? { probe, layer } : null;
    return this.scaling !== null;
  }

  /**
   * x through several layers that read it (attention's q, k and v). In evaluation under static
   * FP8 scales (μnit Scaling: x and every weight at scale 1, so x is quantized once for all) with
   * the same alpha, one scaled matmul by the layers' weight codes stacked, whose output columns are
   * each layer's; otherwise, and under `valueAndGrads`, layer by layer. The same values either way
   * on the CPU backend (each output element sums the same products in the same order); a decode
   * step saves two matmuls and two quantizations per attention.
   */
  static applyEach(layers: readonly Linear[], x: Tensor): Tensor[] {
    const [first] = layers;
    if (first && layers.length > 1 && layers.every((layer) => first.sharesInputCodes(layer))) {
      // Training under static scales: x is quantized once, and every layer keeps the same codes for backward.
      return tidy(() => {
        const x2d = first.rowsOf(x);
        const scale = first.scaling!.input.scaleFor(x2d, true);
        const input = { scale, codes: op.quantizeTensor(x2d, scale, first.recipe.forwardFormat) };
        return layers.map((layer) => op.reshape(layer.fp8Linear(x2d, layer.scaling!, input), [...x.shape.slice(0, -1), layer.outFeatures]));
      });
    }
    // Gradients need each layer's own op (the stacked codes are not a variable).
    if (!first || layers.length === 1 || ENGINE.recording || !layers.every((layer) => first.stacks(layer))) {
      return layers.map((layer) => layer.apply(x));
    }
    const x2d = first.rowsOf(x);
    const rows = x2d.shape[0]!;
    const format = first.recipe.forwardFormat;
    const { scale: wScale, codes } = first.stackedWeight(layers);
    const xScale = first.scaling!.input.scaleFor(x2d, false);
    const xq = op.quantizeTensor(x2d, xScale, format);
    const y = op.scaledMatMul(xq, codes, xScale, wScale, { aFormat: format, bFormat: format, transposeB: true, alpha: first.alpha });
    let column = 0;
    return layers.map((layer) => {
      const part = op.slice(y, [0, column], [rows, layer.outFeatures]);
      column += layer.outFeatures;
      return op.reshape(part, [...x.shape.slice(0, -1), layer.outFeatures]);
    });
  }

  /** Whether `other` can use this layer's FP8 codes of a shared input while training (static scale 1 for both). */
  private sharesInputCodes(other: Linear): boolean {
    const staticFp8 = (layer: Linear) => layer.training && layer.scaling !== null && layer.recipe.scaling === 'static';
    return staticFp8(this) && staticFp8(other) && other.recipe.forwardFormat === this.recipe.forwardFormat;
  }

  /** Whether `other` can share one scaled matmul with this layer in `applyEach`. */
  private stacks(other: Linear): boolean {
    const staticFp8 = (layer: Linear) => !layer.training && layer.scaling !== null && layer.recipe.scaling === 'static';
    return (
      staticFp8(this) &&
      staticFp8(other) &&
      other.inFeatures === this.inFeatures &&
      other.alpha === this.alpha &&
      other.recipe.forwardFormat === this.recipe.forwardFormat
    );
  }

  /**
   * The layers' evaluation codes stacked along the output axis, kept while their weights' storage
   * is unchanged (the layers' own codes are dropped: one copy is kept), and their scale (1).
   */
  private stackedWeight(layers: readonly Linear[]): { scale: Tensor; codes: Tensor } {
    const data = layers.map((layer) => layer.weight.dataId);
    const held = this.stacked;
    const current =
      held !== null &&
      !held.codes.isDisposed &&
      held.layers.length === layers.length &&
      held.layers.every((layer, i) => layer === layers[i] && held.data[i] === data[i]);
    if (current) return held;
    this.dropStackedWeight();
    const parts = layers.map((layer) => layer.evaluationWeight(layer.scaling!));
    const stacked = {
      layers: [...layers],
      data,
      scale: keep(op.reshape(parts[0]!.scale, parts[0]!.scale.shape)),
      codes: keep(
        op.concat(
          parts.map((part) => part.codes),
          0,
        ),
      ),
    };
    for (const layer of layers) layer.dropFrozenWeight();
    this.stacked = stacked;
    return stacked;
  }

  private dropStackedWeight(): void {
    if (!this.stacked) return;
    this.stacked.scale.dispose();
    this.stacked.codes.dispose();
    this.stacked = null;
  }

  /** x (..., in) checked and viewed as (rows, in). */
  private rowsOf(x: Tensor): Tensor {
    check(x.shape[x.rank - 1] === this.inFeatures, 'Linear input', `[${x.shape.join(', ')}]`, `last dimension ${this.inFeatures}`);
    return op.reshape(x, [x.size / this.inFeatures, this.inFeatures]);
  }

  /** x (..., in) → (..., out). */
  apply(x: Tensor): Tensor {
    return tidy(() => {
      const x2d = this.rowsOf(x);
      let y: Tensor;
      if (this.scaling) y = this.fp8Linear(x2d, this.scaling);
      else if (this.recipe.precision === 'bf16' && !this.highPrecision) y = this.bf16Linear(x2d);
      else y = op.mulScalar(op.matMul(x2d, this.weight, false, true), this.alpha);
      return op.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }

  /**
   * `apply` as graph nodes: x (..., in) → (..., out). An FP8 layer's weight is its FP8 codes (the
   * bytes its forward multiplies by), stored transposed (in, out) as `<path>.weight.T` and
   * dequantized by `DequantizeLinear` with `<path>.weight_scale_inv`; x is scaled by the recipe's
   * input scale, cast to FP8 and back (Cast with saturate: round to nearest even, saturating, as
   * octet's codec), and the f32 product scaled by alpha / sx. Cast rather than a QuantizeLinear →
   * DequantizeLinear pair: ONNX Runtime's QDQ optimizers rewrite that pair into kernels without
   * FP8 types. Other layers multiply by their weight, kept in bf16 unless the recipe is f32.
   */
  emit(g: GraphEmitter, x: string): string {
    const path = pathOf(this.weight, 'weight');
    const { recipe, scaling, alpha } = this;
    if (!scaling) {
      const storage = recipe.precision === 'f32' ? 'f32' : 'bf16';
      return scaled(g, g.node('MatMul', [x, g.weight(`${path}weight.T`, this.weight, { storage, transpose: true })]), alpha);
    }
    const format = recipe.forwardFormat;
    check(format === 'e4m3fn' || format === 'e5m2', 'ONNX export weight format', format, 'e4m3fn or e5m2');
    const weightScale = op.reshape(scaling.weight.scaleFor(this.weight, false), []);
    const codes = g.weight(`${path}weight.T`, op.quantizeTensor(this.weight, weightScale, format), { storage: format, transpose: true });
    const scaleInverse = g.weight(`${path}weight_scale_inv`, weightScale, { storage: 'f32', map: (s) => s.map((v) => 1 / v) });
    const w = g.node('DequantizeLinear', [codes, scaleInverse]); // (in, out) f32 on the FP8 grid × scale
    let inputScale: string | null = null; // null: scale 1, known at export
    let outputScale: string | null = null; // alpha / sx
    if (recipe.scaling === 'delayed') {
      // From the amax history (x is not read when nothing is recorded).
      const sx = op.reshape(scaling.input.scaleFor(this.weight, false), []);
      inputScale = g.weight(`${path}input_scale`, sx, { storage: 'f32' });
      outputScale = g.weight(`${path}output_scale`, sx, { storage: 'f32', map: (s) => s.map((v) => alpha / v) });
    } else if (recipe.scaling === 'current') {
      check(!recipe.powerOfTwoScales, 'recipe.powerOfTwoScales', true, 'false for ONNX export of current scaling');
      const amax = g.node('ReduceMax', [g.node('Abs', [x])], { keepdims: { int: 0 } });
      const fromAmax = g.node('Div', [g.node('Div', [g.constFloat(FP8_FORMATS[format].max), amax]), g.constFloat(2 ** recipe.margin)]);
      inputScale = g.node('Where', [g.node('Greater', [amax, g.constFloat(0)]), fromAmax, g.constFloat(1)]);
      outputScale = g.node('Div', [g.constFloat(alpha), inputScale]);
    }
    const xq = g.node('Cast', [inputScale ? g.node('Mul', [x, inputScale]) : x], {
      to: { int: ONNX_FP8_TYPE[format] },
      saturate: { int: 1 },
    });
    const product = g.node('MatMul', [g.node('Cast', [xq], { to: { int: ONNX_FLOAT } }), w]);
    return outputScale ? g.node('Mul', [product, outputScale]) : scaled(g, product, Math.fround(alpha));
  }

  /** `input`: x's codes and scale when already quantized (shared by the layers `applyEach` runs). */
  private fp8Linear(x: Tensor, scaling: NonNullable<Linear['scaling']>, input?: { scale: Tensor; codes: Tensor }): Tensor {
    const w = this.weight;
    const { forwardFormat: fwd, gradientFormat: grad, highPrecisionWgrad } = this.recipe;
    const alpha = this.alpha;
    const record = this.training;
    // Evaluation passes are not training health: only record while training.
    const health = record ? this.health : null;
    if (record) {
      this.dropFrozenWeight();
      this.dropStackedWeight();
    }
    return ENGINE.customOp([x, w], (save) => {
      const xScale = input?.scale ?? scaling.input.scaleFor(x, record);
      const xq = input?.codes ?? op.quantizeTensor(x, xScale, fwd); // (M, K) e4m3
      const { scale: wScale, codes: wq } = record ? this.quantizeWeight(scaling, true) : this.evaluationWeight(scaling); // (N, K) e4m3
      // A replayed forward (activation recomputation) reports nothing: the first run did.
      const report = replayingScales() ? null : health;
      report?.probe.record(report.layer, 'x', x, xScale, xq, fwd);
      report?.probe.record(report.layer, 'w', w, wScale, wq, fwd);
      const output = op.scaledMatMul(xq, wq, xScale, wScale, { aFormat: fwd, bFormat: fwd, transposeB: true, alpha }); // (M, N) f32
      // Backward reads x only as its FP8 codes, and the weight's codes are made again from the
      // weight (unchanged until the update) rather than kept: one byte per weight less per layer.
      const [savedXq, savedXScale, savedW, savedWScale] = [save(xq), save(xScale), save(w), save(wScale)];
      const backward = (dy: Tensor): Tensor[] => {
        const wqAgain = op.quantizeTensor(savedW, savedWScale, fwd);
        const dyScale = scaling.gradient.scaleFor(dy, record);
        const dyq = op.quantizeTensor(dy, dyScale, grad); // (M, N) e5m2
        health?.probe.record(health.layer, 'dy', dy, dyScale, dyq, grad);
        const dx = op.scaledMatMul(dyq, wqAgain, dyScale, savedWScale, { aFormat: grad, bFormat: fwd, alpha }); // (M, K)
        const dw = highPrecisionWgrad
          ? op.mulScalar(op.matMul(dy, op.dequantizeTensor(savedXq, savedXScale, fwd), true, false), alpha)
          : op.scaledMatMul(dyq, savedXq, dyScale, savedXScale, { aFormat: grad, bFormat: fwd, transposeA: true, alpha }); // (N, K)
        return [dx, dw];
      };
      return { output, backward };
    });
  }

  private quantizeWeight(scaling: NonNullable<Linear['scaling']>, record: boolean): { scale: Tensor; codes: Tensor } {
    const scale = scaling.weight.scaleFor(this.weight, record);
    return { scale, codes: op.quantizeTensor(this.weight, scale, this.recipe.forwardFormat) };
  }

  private evaluationWeight(scaling: NonNullable<Linear['scaling']>): { scale: Tensor; codes: Tensor } {
    if (this.frozenWeight?.data === this.weight.dataId && !this.frozenWeight.codes.isDisposed) return this.frozenWeight;
    this.dropFrozenWeight();
    const { scale, codes } = this.quantizeWeight(scaling, false);
    // A view of the scale: the scaling state may own the tensor it returned.
    this.frozenWeight = { data: this.weight.dataId, scale: keep(op.reshape(scale, scale.shape)), codes: keep(codes) };
    return this.frozenWeight;
  }

  private dropFrozenWeight(): void {
    if (!this.frozenWeight) return;
    this.frozenWeight.scale.dispose();
    this.frozenWeight.codes.dispose();
    this.frozenWeight = null;
  }

  override dispose(): void {
    this.dropFrozenWeight();
    this.dropStackedWeight();
    super.dispose();
  }

  private bf16Linear(x: Tensor): Tensor {
    const w = this.weight;
    const alpha = this.alpha;
    const round = (t: Tensor) => op.roundTo(t, 'bf16');
    return ENGINE.customOp([x, w], (save) => {
      const xb = round(x);
      const output = round(op.mulScalar(op.matMul(xb, round(w), false, true), alpha));
      // The rounded weight is made again in backward from the weight itself, not kept.
      const [savedXb, savedW] = [save(xb), save(w)];
      const backward = (dy: Tensor): Tensor[] => {
        const dyb = round(dy);
        return [
          round(op.mulScalar(op.matMul(dyb, round(savedW)), alpha)),
          round(op.mulScalar(op.matMul(dyb, savedXb, true, false), alpha)),
        ];
      };
      return { output, backward };
    });
  }
}
