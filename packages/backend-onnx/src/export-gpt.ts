/**
 * Exports an octet GPT to ONNX (opset 19) for inference on ONNX Runtime.
 *
 * - Each FP8 hidden Linear keeps its checkpoint bytes: a FLOAT8E4M3FN (or E5M2) initializer, stored
 *   transposed (in, out) so no Transpose runs per call, feeding DequantizeLinear with the
 *   checkpoint's `weight_scale_inv` as its scale. The file holds one byte per hidden weight.
 * - The activation side matches octet's FP8 fprop, alpha · decode(fp8(x·sx)) · decode(Wq)ᵀ / (sx·sw):
 *   x is multiplied by the recipe's input scale sx (static 1 under unitScaling, the amax-history
 *   scale under delayed scaling, the tensor's own amax under current scaling), cast to FP8 and back
 *   (Cast with saturate: round to nearest even, saturating, like octet's codec), and the f32
 *   MatMul output is multiplied by alpha / sx.
 * - The embedding and head are stored as the checkpoint holds them (BF16 under FP8 and bf16 recipes,
 *   two bytes a weight, cast to f32 as the session loads), and computed in f32 like everything else
 *   (RMSNorm, RoPE, attention, GELU).
 * - With `kvCache`, every layer has `past_key_values.<l>.key|value` inputs (B, H, P, D) and
 *   `present.<l>.key|value` outputs (B, H, P+T, D); keys are stored after RoPE. `attention_mask`
 *   (B, P+T) marks real (1) and padding (0) positions and `position_ids` (B, T) gives each new
 *   token's position, so sequences of different lengths decode together left-padded.
 */
import { check, FP8_FORMATS, type Fp8Format, type Recipe, recipeByName } from '@octet/core';
import {
  type Gpt,
  type GptConfig,
  gptServingTensors,
  loadCheckpoint,
  type RawTensor,
  rawTensorFloat32,
  rawTensorValues,
} from '@octet/models';
import { type Dim, GraphBuilder, ONNX_DTYPE } from './graph-builder.js';

/** The tensors of a served GPT as model.safetensors holds them, with the config they belong to. */
export interface GptServingWeights {
  config: GptConfig;
  tensors: Record<string, RawTensor>;
}

export interface ExportGptOptions {
  /** Add past/present KV-cache inputs and outputs plus attention_mask and position_ids (default true). */
  kvCache?: boolean;
}

/** ONNX opset of the exported graph: the first with FP8 QuantizeLinear/DequantizeLinear. */
export const GPT_ONNX_OPSET = 19;

/** RMSNorm's epsilon in octet's nn.RMSNorm (its default, which Gpt uses). */
const RMS_NORM_EPS = 1e-5;
/** Score given to masked attention positions: exp underflows to exactly 0 beside any real score. */
const MASKED_SCORE = -1e9;
const F8_FORMAT: Record<string, 'e4m3fn' | 'e5m2'> = { F8_E4M3: 'e4m3fn', F8_E5M2: 'e5m2' };

/** Reads model.safetensors and config.json of a checkpoint folder (no tensor engine needed). */
export async function loadGptServingWeights(directory: string): Promise<GptServingWeights> {
  const checkpoint = await loadCheckpoint(directory);
  const { model_type: modelType, ...config } = checkpoint.config as GptConfig & { model_type?: string };
  check(modelType === 'octet-gpt', `${directory}/config.json model_type`, modelType, '"octet-gpt"');
  return { config: config as GptConfig, tensors: checkpoint.tensors };
}

/** The serving tensors of an in-memory Gpt, exactly as saveGptCheckpoint writes them to model.safetensors. */
export async function gptServingWeights(model: Gpt): Promise<GptServingWeights> {
  return { config: { ...model.config }, tensors: await gptServingTensors(model) };
}

/** Exports a Gpt, its serving weights, or a checkpoint folder to ONNX bytes. */
export async function exportGptToOnnx(source: Gpt | GptServingWeights | string, options: ExportGptOptions = {}): Promise<Uint8Array> {
  const weights =
    typeof source === 'string' ? await loadGptServingWeights(source) : 'tensors' in source ? source : await gptServingWeights(source);
  return buildGptOnnx(weights, options);
}

/** Builds the ONNX graph of a GPT from its serving weights. */
export function buildGptOnnx({ config, tensors }: GptServingWeights, { kvCache = true }: ExportGptOptions = {}): Uint8Array {
  const recipe = recipeByName(config.recipe, { tau: config.tau });
  const unit = recipe.parametrization === 'unit';
  const { dim: C, heads: H, layers, vocabSize: V, mlpHidden } = config;
  const D = C / H;
  const g = new GraphBuilder();
  const tensor = (name: string): RawTensor => {
    const t = tensors[name];
    check(t !== undefined, 'GPT weights', `no tensor ${name}`, `every tensor of a ${config.layers}-layer GPT`);
    return t;
  };
  /** An f32 graph value from an F32 or BF16 tensor (BF16 is stored as such, two bytes a weight, and cast on load). */
  const f32Initializer = (name: string, transpose = false): string => {
    const t = tensor(name);
    check(t.dtype === 'F32' || t.dtype === 'BF16', `tensor ${name} dtype`, t.dtype, 'F32 or BF16');
    const [rows, cols] = t.shape as [number, number];
    const dims = transpose ? [cols, rows] : t.shape;
    const stored = transpose ? `${name}.T` : name;
    if (t.dtype === 'F32') {
      const values = rawTensorFloat32(t);
      return g.floats(stored, dims, transpose ? transposed(values, rows, cols) : values);
    }
    const bits = rawTensorValues(t) as Uint16Array;
    const ordered = transpose ? transposed(bits, rows, cols) : bits;
    g.initializer(stored, 'bfloat16', dims, new Uint8Array(ordered.buffer, ordered.byteOffset, ordered.byteLength));
    return g.node('Cast', [stored], { to: { int: ONNX_DTYPE.float } });
  };

  // ---- inputs ----
  const batch: Dim = 'batch';
  const sequence: Dim = 'sequence';
  const ids = g.input('input_ids', 'int64', [batch, sequence]);
  const idsShape = g.node('Shape', [ids]);
  const T = g.node('Gather', [idsShape, g.constInt(1)], { axis: { int: 0 } }); // scalar
  let positions: string; // (B or 1, T) int64
  let keyMask: string | null = null; // (B, P+T) int64
  let past: string; // scalar int64
  const pastNames: [string, string][] = [];
  if (kvCache) {
    keyMask = g.input('attention_mask', 'int64', [batch, 'total_sequence']);
    positions = g.input('position_ids', 'int64', [batch, sequence]);
    for (let l = 0; l < layers; l++) {
      pastNames.push([
        g.input(`past_key_values.${l}.key`, 'float', [batch, H, 'past_sequence', D]),
        g.input(`past_key_values.${l}.value`, 'float', [batch, H, 'past_sequence', D]),
      ]);
    }
    past = g.node('Gather', [g.node('Shape', [pastNames[0]![0]]), g.constInt(2)], { axis: { int: 0 } });
  } else {
    past = g.constInt(0);
    positions = g.node('Unsqueeze', [g.node('Range', [g.constInt(0), T, g.constInt(1)]), g.constInt([0])]);
  }
  const total = g.node('Add', [past, T]);

  // ---- attention mask, shared by every layer: (B or 1, 1, T, P+T) bool ----
  const keyIndex = g.node('Unsqueeze', [g.node('Range', [g.constInt(0), total, g.constInt(1)]), g.constInt([0])]); // (1, P+T)
  const queryPosition = g.node('Unsqueeze', [g.node('Range', [past, total, g.constInt(1)]), g.constInt([1])]); // (T, 1)
  let allowed = g.node('LessOrEqual', [keyIndex, queryPosition]); // (T, P+T): key j visible to query i when j ≤ P + i
  if (keyMask) {
    const real = g.node('Unsqueeze', [g.node('Cast', [keyMask], { to: { int: 9 } }), g.constInt([1, 2])]); // (B, 1, 1, P+T)
    allowed = g.node('And', [allowed, real]);
  } else allowed = g.node('Unsqueeze', [allowed, g.constInt([0, 1])]);

  // ---- RoPE tables: rotate-half, pairs (i, i + D/2), angle = position · base^(-2i/D) ----
  const half = D / 2;
  const inverseFrequency = new Float32Array(half).map((_, i) => config.ropeBase ** (-(2 * i) / D));
  const angles = g.node('Mul', [
    g.node('Unsqueeze', [g.node('Cast', [positions], { to: { int: ONNX_DTYPE.float } }), g.constInt([1, 3])]), // (B, 1, T, 1)
    g.floats('rope.inverse_frequency', [half], inverseFrequency),
  ]); // (B, 1, T, D/2)
  const cos = g.node('Cos', [angles]);
  const sin = g.node('Sin', [angles]);
  const rope = (x: string): string => {
    // x (B, H, T, D)
    const x1 = g.node('Slice', [x, g.constInt([0]), g.constInt([half]), g.constInt([3])]);
    const x2 = g.node('Slice', [x, g.constInt([half]), g.constInt([D]), g.constInt([3])]);
    const first = g.node('Sub', [g.node('Mul', [x1, cos]), g.node('Mul', [x2, sin])]);
    const second = g.node('Add', [g.node('Mul', [x2, cos]), g.node('Mul', [x1, sin])]);
    return g.node('Concat', [first, second], { axis: { int: 3 } });
  };

  // ---- layers ----
  const rmsNorm = (x: string, gain: string | null): string => {
    const meanSquare = g.node('ReduceMean', [g.node('Mul', [x, x]), g.constInt([-1])], { keepdims: { int: 1 } });
    const inverseRms = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [meanSquare, g.constFloat(RMS_NORM_EPS)])])]);
    const normed = g.node('Mul', [x, inverseRms]);
    return gain ? g.node('Mul', [normed, f32Initializer(gain)]) : normed;
  };
  const scale = (x: string, factor: number): string => (factor === 1 ? x : g.node('Mul', [x, g.constFloat(factor)]));
  const linear = (x: string, path: string, alpha: number): string => {
    const w = tensor(`${path}.weight`);
    if (w.dtype === 'F32') return scale(g.node('MatMul', [x, f32Initializer(`${path}.weight`, true)]), alpha);
    return fp8Linear(g, x, path, w, tensor(`${path}.weight_scale_inv`), alpha, recipe, tensors);
  };
  const dimAlpha = unit ? 1 / Math.sqrt(C) : 1;
  const scoreScale = unit ? 1 / D : 1 / Math.sqrt(D);
  const skipWeight = 1 / Math.sqrt(1 + recipe.tau * recipe.tau);
  const branchWeight = recipe.tau / Math.sqrt(1 + recipe.tau * recipe.tau);
  const toHeads = (x: string) => g.node('Transpose', [g.node('Reshape', [x, g.constInt([0, 0, H, D])])], { perm: { ints: [0, 2, 1, 3] } }); // (B, H, T, D)

  const attention = (x: string, l: number): string => {
    const path = `blocks.${l}.attn`;
    let k = rope(toHeads(linear(x, `${path}.k`, dimAlpha)));
    let v = toHeads(linear(x, `${path}.v`, dimAlpha));
    const q = rope(toHeads(linear(x, `${path}.q`, dimAlpha)));
    if (kvCache) {
      k = g.node('Concat', [pastNames[l]![0], k], { axis: { int: 2 } }, `present.${l}.key`);
      v = g.node('Concat', [pastNames[l]![1], v], { axis: { int: 2 } }, `present.${l}.value`);
      g.output(k, 'float', [batch, H, 'total_sequence', D]);
      g.output(v, 'float', [batch, H, 'total_sequence', D]);
    }
    const scores = scale(g.node('MatMul', [q, g.node('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } })]), scoreScale); // (B, H, T, P+T)
    const masked = g.node('Where', [allowed, scores, g.constFloat(MASKED_SCORE)]);
    const y = g.node('MatMul', [g.node('Softmax', [masked], { axis: { int: -1 } }), v]); // (B, H, T, D)
    const merged = g.node('Reshape', [g.node('Transpose', [y], { perm: { ints: [0, 2, 1, 3] } }), g.constInt([0, 0, C])]);
    return linear(merged, `${path}.out`, dimAlpha);
  };
  const mlp = (x: string, l: number): string => {
    const path = `blocks.${l}.mlp`;
    const up = linear(x, `${path}.up`, dimAlpha);
    let hidden: string;
    if (config.activation === 'swiglu') {
      const gate = linear(x, `${path}.gate`, dimAlpha);
      hidden = g.node('Mul', [g.node('Mul', [gate, g.node('Sigmoid', [gate])]), up]);
    } else hidden = gelu(g, up);
    return linear(hidden, `${path}.down`, unit ? 1 / Math.sqrt(mlpHidden) : 1);
  };

  let h = g.node('Gather', [f32Initializer('embedding.weight'), ids], { axis: { int: 0 } }); // (B, T, C)
  for (let l = 0; l < layers; l++) {
    if (unit) {
      // h/√(1+τ²) + τ/√(1+τ²) · norm(f(h)), norms without gain
      const mix = (skip: string, branch: string) => g.node('Add', [scale(skip, skipWeight), scale(rmsNorm(branch, null), branchWeight)]);
      h = mix(h, attention(h, l));
      h = mix(h, mlp(h, l));
    } else {
      h = g.node('Add', [h, attention(rmsNorm(h, `blocks.${l}.attn_norm.gain`), l)]);
      h = g.node('Add', [h, mlp(rmsNorm(h, `blocks.${l}.mlp_norm.gain`), l)]);
    }
  }
  const normed = rmsNorm(h, 'final_norm.gain');
  g.node('Mul', [g.node('MatMul', [normed, f32Initializer('head.weight', true)]), g.constFloat(unit ? 1 / Math.sqrt(C) : 1)], {}, 'logits');
  g.output('logits', 'float', [batch, sequence, V]);
  return g.encode({ name: 'octet-gpt', opset: GPT_ONNX_OPSET, docString: `octet GPT (${config.recipe}, ${layers} layers, dim ${C})` });
}

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function gelu(g: GraphBuilder, x: string): string {
  const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
  const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, g.constFloat(0.044715)])]), g.constFloat(Math.sqrt(2 / Math.PI))]);
  return g.node('Mul', [g.node('Mul', [x, g.constFloat(0.5)]), g.node('Add', [g.constFloat(1), g.node('Tanh', [inner])])]);
}

/** An FP8 Linear: (x·sx → fp8 → f32) @ DequantizeLinear(Wᵀ codes, weight_scale_inv) · alpha/sx. */
function fp8Linear(
  g: GraphBuilder,
  x: string,
  path: string,
  weight: RawTensor,
  weightScaleInv: RawTensor,
  alpha: number,
  recipe: Recipe,
  tensors: Record<string, RawTensor>,
): string {
  const format = F8_FORMAT[weight.dtype];
  check(format !== undefined, `tensor ${path}.weight dtype`, weight.dtype, 'F32, F8_E4M3 or F8_E5M2');
  check(
    recipe.forwardFormat === format,
    `tensor ${path}.weight dtype`,
    weight.dtype,
    `the recipe's forward format (${recipe.forwardFormat})`,
  );
  const onnxType = format === 'e4m3fn' ? 'float8e4m3fn' : 'float8e5m2';
  const [out, inp] = weight.shape as [number, number];
  const codes = g.initializer(`${path}.weight.T`, onnxType, [inp, out], transposed(weight.data, out, inp));
  const scaleInv = g.floats(`${path}.weight_scale_inv`, [], rawTensorFloat32(weightScaleInv));
  const w = g.node('DequantizeLinear', [codes, scaleInv]); // (in, out) f32 on the FP8 grid × scale
  // The input scale sx (a number when known at export, else a graph value).
  let inputScale: number | string;
  if (recipe.scaling === 'static') inputScale = 1;
  else if (recipe.scaling === 'delayed') {
    const history = tensors[`${path}.input_scaling.amax_history`];
    check(
      history !== undefined,
      'GPT weights',
      `no tensor ${path}.input_scaling.amax_history`,
      'the amax history of every delayed-scaling Linear',
    );
    inputScale = scaleFromAmaxHistory(rawTensorFloat32(history), recipe, format);
  } else {
    check(!recipe.powerOfTwoScales, 'recipe.powerOfTwoScales', true, 'false for ONNX export of current scaling');
    const amax = g.node('ReduceMax', [g.node('Abs', [x])], { keepdims: { int: 0 } });
    const fromAmax = g.node('Div', [g.node('Div', [g.constFloat(FP8_FORMATS[format].max), amax]), g.constFloat(2 ** recipe.margin)]);
    inputScale = g.node('Where', [g.node('Greater', [amax, g.constFloat(0)]), fromAmax, g.constFloat(1)]);
  }
  const scaled = inputScale === 1 ? x : g.node('Mul', [x, typeof inputScale === 'number' ? g.constFloat(inputScale) : inputScale]);
  // Cast to FP8 (round to nearest even, saturating: octet's codec) and back to f32. Cast rather than
  // QuantizeLinear(·, 1) → DequantizeLinear(·, 1), the same values: ONNX Runtime's QDQ optimizers
  // rewrite that pair (into MatMulIntegerToFloat, or by moving it across Transpose/Reshape), and
  // their kernels have no FP8 types.
  const xq = g.node('Cast', [scaled], { to: { int: ONNX_DTYPE[onnxType] }, saturate: { int: 1 } }); // (..., in) fp8
  const product = g.node('MatMul', [g.node('Cast', [xq], { to: { int: ONNX_DTYPE.float } }), w]);
  if (typeof inputScale === 'number') {
    const factor = Math.fround(alpha / inputScale);
    return factor === 1 ? product : g.node('Mul', [product, g.constFloat(factor)]);
  }
  return g.node('Mul', [product, g.node('Div', [g.constFloat(alpha), inputScale])]);
}

/** TransformerEngine's scale from an amax history, as octet's ScaleFromAmax kernel computes it. */
function scaleFromAmaxHistory(history: Float32Array, recipe: Recipe, format: Fp8Format): number {
  let amax = recipe.amaxComputeAlgo === 'max' ? 0 : history[0]!;
  if (recipe.amaxComputeAlgo === 'max') for (const value of history) amax = Math.max(amax, value);
  if (!(amax > 0 && Number.isFinite(amax))) return 1;
  let s = Math.fround(Math.fround(FP8_FORMATS[format].max / amax) / 2 ** recipe.margin);
  if (recipe.powerOfTwoScales) s = 2 ** Math.floor(Math.log2(s));
  return Number.isFinite(s) && s !== 0 ? s : 1;
}

function transposed<T extends Float32Array | Uint16Array | Uint8Array>(values: T, rows: number, cols: number): T {
  const out = new (values.constructor as new (n: number) => T)(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
