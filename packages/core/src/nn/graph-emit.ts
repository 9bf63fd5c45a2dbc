/**
 * Graph nodes of the leaf modules (Linear, RMSNorm, Mlp, Embedding): each function is its
 * module's `apply` written as ONNX nodes, reading the module's own weights, scales and options.
 */
import { check } from '../errors.js';
import { FP8_FORMATS } from '../numerics.js';
import * as op from '../ops/ops.js';
import type { Tensor } from '../tensor.js';
import type { Embedding } from './embedding.js';
import type { GraphEmitter } from './graph.js';
import type { Linear } from './linear.js';
import type { Mlp } from './mlp.js';
import type { RMSNorm } from './norm.js';

/** ONNX's FLOAT8E4M3FN and FLOAT8E5M2 type numbers (Cast's `to`). */
const ONNX_FP8_TYPE = { e4m3fn: 17, e5m2: 19 } as const;
const ONNX_FLOAT = 1;

function scaled(g: GraphEmitter, x: string, factor: number): string {
  return factor === 1 ? x : g.node('Mul', [x, g.constFloat(factor)]);
}

/** Where a module's variables live: `blocks.0.attn.q.` for the Linear whose weight is `blocks.0.attn.q.weight`. */
function pathOf(variable: { name: string }, leaf: string): string {
  return variable.name.slice(0, variable.name.length - leaf.length);
}

/**
 * Linear.apply as nodes: x (..., in) → (..., out). An FP8 layer's weight is its FP8 codes (the
 * bytes its forward multiplies by), stored transposed (in, out) as `<path>.weight.T` and
 * dequantized by `DequantizeLinear` with `<path>.weight_scale_inv`; x is scaled by the recipe's
 * input scale, cast to FP8 and back (Cast with saturate: round to nearest even, saturating, as
 * octet's codec), and the f32 product scaled by alpha / sx. Cast rather than a QuantizeLinear →
 * DequantizeLinear pair: ONNX Runtime's QDQ optimizers rewrite that pair into kernels without
 * FP8 types. Other layers multiply by their weight, kept in bf16 unless the recipe is f32.
 */
export function emitLinear(g: GraphEmitter, linear: Linear, x: string): string {
  const path = pathOf(linear.weight, 'weight');
  const { recipe, scaling, alpha } = linear;
  if (!scaling) {
    const storage = recipe.precision === 'f32' ? 'f32' : 'bf16';
    return scaled(g, g.node('MatMul', [x, g.weight(`${path}weight.T`, linear.weight, { storage, transpose: true })]), alpha);
  }
  const format = recipe.forwardFormat;
  check(format === 'e4m3fn' || format === 'e5m2', 'ONNX export weight format', format, 'e4m3fn or e5m2');
  const weightScale = op.reshape(scaling.weight.scaleFor(linear.weight, false), []);
  const codes = g.weight(`${path}weight.T`, op.quantizeTensor(linear.weight, weightScale, format), { storage: format, transpose: true });
  const scaleInverse = g.weight(`${path}weight_scale_inv`, weightScale, { storage: 'f32', map: (s) => s.map((v) => 1 / v) });
  const w = g.node('DequantizeLinear', [codes, scaleInverse]); // (in, out) f32 on the FP8 grid × scale
  let inputScale: string | null = null; // null: scale 1, known at export
  let outputScale: string | null = null; // alpha / sx
  if (recipe.scaling === 'delayed') {
    // From the amax history (x is not read when nothing is recorded).
    const sx = op.reshape(scaling.input.scaleFor(linear.weight, false), []);
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

/** RMSNorm.apply as nodes: x / sqrt(mean(x²) + eps) · gain. */
export function emitRmsNorm(g: GraphEmitter, norm: RMSNorm, x: string): string {
  // The norm's own epsilon (a private field: read, not duplicated).
  const eps = (norm as unknown as { eps: number }).eps;
  const meanSquare = g.node('ReduceMean', [g.node('Mul', [x, x]), g.constInt([-1])], { keepdims: { int: 1 } });
  const inverseRms = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [meanSquare, g.constFloat(eps)])])]);
  const normed = g.node('Mul', [x, inverseRms]);
  return norm.gain ? g.node('Mul', [normed, g.weight(norm.gain.name, norm.gain, { storage: 'f32' })]) : normed;
}

/** Mlp.apply as nodes: GELU (tanh form, as octet's gelu) or SwiGLU. */
export function emitMlp(g: GraphEmitter, mlp: Mlp, x: string): string {
  const up = emitLinear(g, mlp.up, x);
  let hidden: string;
  if (mlp.gate) {
    const gate = emitLinear(g, mlp.gate, x);
    hidden = g.node('Mul', [g.node('Mul', [gate, g.node('Sigmoid', [gate])]), up]);
  } else {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const cube = g.node('Mul', [g.node('Mul', [up, up]), up]);
    const inner = g.node('Mul', [g.node('Add', [up, g.node('Mul', [cube, g.constFloat(0.044715)])]), g.constFloat(Math.sqrt(2 / Math.PI))]);
    hidden = g.node('Mul', [g.node('Mul', [up, g.constFloat(0.5)]), g.node('Add', [g.constFloat(1), g.node('Tanh', [inner])])]);
  }
  return emitLinear(g, mlp.down, hidden);
}

/** Embedding.apply as nodes: ids (...) int64 → (..., dim); the table kept as `storage` says. */
export function emitEmbedding(g: GraphEmitter, embedding: Embedding, ids: string, storage: 'f32' | 'bf16'): string {
  return g.node('Gather', [g.weight(embedding.weight.name, embedding.weight as Tensor, { storage }), ids], { axis: { int: 0 } });
}
