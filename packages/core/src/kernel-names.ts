/**
 * The kernel contract, as data: every kernel a backend implements has a name constant here,
 * its inputs and its attributes. Backends, ops and gradients import these; no bare strings.
 *
 * Conventions for every kernel:
 * - Tensors are row-major. `float32` unless stated; FP8 tensors are `uint8` codes.
 * - Outputs are new tensors; kernels never write into their inputs.
 * - Tolerance: exact for data movement, FP8 codes and integer work; elementwise f32 within
 *   1e-6 relative; reductions, matmuls, softmax and norms within 1e-5 relative (summation order
 *   may differ between backends).
 */

import type { TensorInfo } from './backend.js';
import type { Fp8Format } from './numerics.js';

// ---------- elementwise ----------
/** Unary f32 → f32, same shape. `Gelu` is the tanh approximation. */
export const Unary = 'Unary';
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'square'
  | 'abs'
  | 'reciprocal'
  | 'sign'
  | 'step';
/** `step` is 1 where x > 0, else 0; `sign` is -1, 0 or 1. */
export interface UnaryInputs {
  x: TensorInfo;
}
export interface UnaryAttrs {
  op: UnaryOp;
}

/** Binary f32 with numpy broadcasting of trailing dimensions. */
export const Binary = 'Binary';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';
export interface BinaryInputs {
  a: TensorInfo;
  b: TensorInfo;
}
export interface BinaryAttrs {
  op: BinaryOp;
}

/** y = x * scale + shift, with scalar constants (no broadcast tensor needed). */
export const Affine = 'Affine';
export interface AffineInputs {
  x: TensorInfo;
}
export interface AffineAttrs {
  scale: number;
  shift: number;
}

/** d/dx gelu_tanh(x) * dy. Inputs same shape. */
export const GeluGrad = 'GeluGrad';
export interface GeluGradInputs {
  dy: TensorInfo;
  x: TensorInfo;
}

/** Round f32 values to the nearest bf16 or f16 value (ties to even), keeping f32 storage. */
export const RoundTo = 'RoundTo';
export interface RoundToInputs {
  x: TensorInfo;
}
export interface RoundToAttrs {
  format: 'bf16' | 'f16';
}

// ---------- shape and data movement (exact) ----------
/** Permute axes. */
export const Transpose = 'Transpose';
export interface TransposeInputs {
  x: TensorInfo;
}
export interface TransposeAttrs {
  perm: number[];
}

/** Contiguous slice: begin and size per axis. */
export const Slice = 'Slice';
export interface SliceInputs {
  x: TensorInfo;
}
export interface SliceAttrs {
  begin: number[];
  size: number[];
}

/** Concatenate along `axis`; all other dims equal. */
export const Concat = 'Concat';
export interface ConcatInputs {
  xs: TensorInfo[];
}
export interface ConcatAttrs {
  axis: number;
}

/** Rows of `table` (V, D) picked by int32 `indices` (any shape) → (...indices.shape, D). */
export const Gather = 'Gather';
export interface GatherInputs {
  table: TensorInfo;
  indices: TensorInfo;
}

/** Inverse of Gather: out (numRows, D) zeros, then out[indices[i]] += updates[i]. */
export const ScatterAdd = 'ScatterAdd';
export interface ScatterAddInputs {
  updates: TensorInfo;
  indices: TensorInfo;
}
export interface ScatterAddAttrs {
  numRows: number;
}

/** int32 indices → f32 one-hot (..., depth). */
export const OneHot = 'OneHot';
export interface OneHotInputs {
  indices: TensorInfo;
}
export interface OneHotAttrs {
  depth: number;
}

/** Fill a new tensor with a constant. */
export const Fill = 'Fill';
export interface FillAttrs {
  shape: number[];
  value: number;
  dtype: 'float32' | 'int32';
}

/** Cast between float32 and int32 (int32 ← float32 truncates toward zero). */
export const Cast = 'Cast';
export interface CastInputs {
  x: TensorInfo;
}
export interface CastAttrs {
  dtype: 'float32' | 'int32';
}

// ---------- reductions ----------
/** Sum or max over `axes` (sorted, unique); keepDims keeps them as size 1. */
export const Reduce = 'Reduce';
export type ReduceOp = 'sum' | 'max' | 'amax';
export interface ReduceInputs {
  x: TensorInfo;
}
export interface ReduceAttrs {
  op: ReduceOp;
  axes: number[];
  keepDims: boolean;
}

// ---------- matmul ----------
/**
 * f32 batched matmul: a (..., M, K) or (..., K, M) when transposeA, b likewise; batch dims
 * broadcast (a rank-2 operand is shared by every batch). f32 accumulation.
 */
export const MatMul = 'MatMul';
export interface MatMulInputs {
  a: TensorInfo;
  b: TensorInfo;
}
export interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * FP8 × FP8 → f32 matmul with per-tensor scales: out = alpha · (decode(a) @ decode(b)) / (aScale · bScale).
 * `a` and `b` are uint8 codes of formats `aFormat` / `bFormat`; aScale and bScale are f32 scalars
 * (the factor each operand was multiplied by before the cast). Layout as MatMul. f32 accumulation.
 * Tolerance: as MatMul on the decoded values.
 */
export const ScaledMatMul = 'ScaledMatMul';
export interface ScaledMatMulInputs {
  a: TensorInfo;
  b: TensorInfo;
  aScale: TensorInfo;
  bScale: TensorInfo;
}
export interface ScaledMatMulAttrs {
  aFormat: Fp8Format;
  bFormat: Fp8Format;
  transposeA: boolean;
  transposeB: boolean;
  alpha: number;
}

// ---------- FP8 ----------
/** q = fp8(x · scale), per-tensor scale (f32 scalar tensor). Bit-exact with core's `fp8.encode`. */
export const Quantize = 'Quantize';
export interface QuantizeInputs {
  x: TensorInfo;
  scale: TensorInfo;
}
export interface QuantizeAttrs {
  format: Fp8Format;
  saturate: boolean;
}

/** x = decode(q) / scale. Exact up to the f32 division. */
export const Dequantize = 'Dequantize';
export interface DequantizeInputs {
  q: TensorInfo;
  scale: TensorInfo;
}
export interface DequantizeAttrs {
  format: Fp8Format;
}

/**
 * TransformerEngine's scale update: amax = max(amaxHistory) (reduce 'max') or amaxHistory[0]
 * ('most_recent'); scale = (fp8Max / amax) / 2^margin, rounded down to a power of two when asked;
 * scale = 1 when amax is 0 or not finite. Output: f32 scalar (shape []).
 */
export const ScaleFromAmax = 'ScaleFromAmax';
export interface ScaleFromAmaxInputs {
  amaxHistory: TensorInfo;
}
export interface ScaleFromAmaxAttrs {
  fp8Max: number;
  margin: number;
  reduce: 'max' | 'most_recent';
  powerOfTwo: boolean;
}

// ---------- codebook quantization (compressed optimizer states) ----------
/**
 * Codes of `x` (f32, any shape, n elements) on a codebook `map` (f32, 1-D, sorted ascending, 2 to
 * 2^bits entries): code(x) = #{ j < map.length − 1 : t_j < x } with t_j = f32(f32(map[j] + map[j + 1]) · 0.5),
 * the nearest entry by its float32 midpoints (lpmm's `quantize_bsearch`): a value on a midpoint
 * takes the lower code, values beyond the ends the end codes, NaN code 0. Output uint8 of shape
 * [⌈n · bits / 8⌉]; with bits 4, element 2i sits in the low nibble of byte i and 2i + 1 in the high
 * nibble (a last odd element leaves the high nibble 0). Exact.
 */
export const MapQuantize = 'MapQuantize';
export interface MapQuantizeInputs {
  x: TensorInfo;
  map: TensorInfo;
}
export interface MapQuantizeAttrs {
  bits: 4 | 8;
}

/**
 * The inverse lookup: f32 of `shape` with element i = map[code i], codes packed as MapQuantize
 * writes them (`bits` 4 or 8); a code with no map entry reads NaN. Exact.
 */
export const MapDequantize = 'MapDequantize';
export interface MapDequantizeInputs {
  codes: TensorInfo;
  map: TensorInfo;
}
export interface MapDequantizeAttrs {
  bits: 4 | 8;
  shape: number[];
}

// ---------- fused NN kernels ----------
/** Softmax over the last axis. With `causal`, the last two dims are (Tq, Tk) and key j is masked for query i when j > i + (Tk - Tq). */
export const Softmax = 'Softmax';
export interface SoftmaxInputs {
  x: TensorInfo;
}
export interface SoftmaxAttrs {
  causal: boolean;
}

/** Per-row cross-entropy of logits (N, V) against int32 targets (N): out (N) = logsumexp(row) - row[target]. */
export const SoftmaxCrossEntropy = 'SoftmaxCrossEntropy';
export interface SoftmaxCrossEntropyInputs {
  logits: TensorInfo;
  targets: TensorInfo;
}

/**
 * Rotary embedding on x (B, H, T, D), rotate-half pairs (i, i + D/2); `inverse` rotates by -θ (the
 * gradient). Positions offset..offset+T-1, or with one offset per batch entry (B numbers: sequences
 * of different lengths decoded together) offset[b]..offset[b]+T-1 for entry b.
 */
export const Rope = 'Rope';
export interface RopeInputs {
  x: TensorInfo;
}
export interface RopeAttrs {
  base: number;
  offset: number | readonly number[];
  inverse: boolean;
}

/** A kernel that takes no tensors (Fill) or no attributes. */
export type NoInputs = Record<string, never>;
export type NoAttrs = Record<string, never>;

/** The contract map: each kernel's name → its inputs and attributes. Everything below derives from it. */
export interface KernelContracts {
  [Unary]: { inputs: UnaryInputs; attrs: UnaryAttrs };
  [Binary]: { inputs: BinaryInputs; attrs: BinaryAttrs };
  [Affine]: { inputs: AffineInputs; attrs: AffineAttrs };
  [GeluGrad]: { inputs: GeluGradInputs; attrs: NoAttrs };
  [RoundTo]: { inputs: RoundToInputs; attrs: RoundToAttrs };
  [Transpose]: { inputs: TransposeInputs; attrs: TransposeAttrs };
  [Slice]: { inputs: SliceInputs; attrs: SliceAttrs };
  [Concat]: { inputs: ConcatInputs; attrs: ConcatAttrs };
  [Gather]: { inputs: GatherInputs; attrs: NoAttrs };
  [ScatterAdd]: { inputs: ScatterAddInputs; attrs: ScatterAddAttrs };
  [OneHot]: { inputs: OneHotInputs; attrs: OneHotAttrs };
  [Fill]: { inputs: NoInputs; attrs: FillAttrs };
  [Cast]: { inputs: CastInputs; attrs: CastAttrs };
  [Reduce]: { inputs: ReduceInputs; attrs: ReduceAttrs };
  [MatMul]: { inputs: MatMulInputs; attrs: MatMulAttrs };
  [ScaledMatMul]: { inputs: ScaledMatMulInputs; attrs: ScaledMatMulAttrs };
  [Quantize]: { inputs: QuantizeInputs; attrs: QuantizeAttrs };
  [Dequantize]: { inputs: DequantizeInputs; attrs: DequantizeAttrs };
  [ScaleFromAmax]: { inputs: ScaleFromAmaxInputs; attrs: ScaleFromAmaxAttrs };
  [MapQuantize]: { inputs: MapQuantizeInputs; attrs: MapQuantizeAttrs };
  [MapDequantize]: { inputs: MapDequantizeInputs; attrs: MapDequantizeAttrs };
  [Softmax]: { inputs: SoftmaxInputs; attrs: SoftmaxAttrs };
  [SoftmaxCrossEntropy]: { inputs: SoftmaxCrossEntropyInputs; attrs: NoAttrs };
  [Rope]: { inputs: RopeInputs; attrs: RopeAttrs };
}

export type KernelName = keyof KernelContracts;
export type KernelInputs<K extends KernelName> = KernelContracts[K]['inputs'];
export type KernelAttrs<K extends KernelName> = KernelContracts[K]['attrs'];

// Typed against the map: leaving a kernel out, or naming one the map lacks, is a type error.
const kernelNames: { [K in KernelName]: K } = {
  Unary,
  Binary,
  Affine,
  GeluGrad,
  RoundTo,
  Transpose,
  Slice,
  Concat,
  Gather,
  ScatterAdd,
  OneHot,
  Fill,
  Cast,
  Reduce,
  MatMul,
  ScaledMatMul,
  Quantize,
  Dequantize,
  ScaleFromAmax,
  MapQuantize,
  MapDequantize,
  Softmax,
  SoftmaxCrossEntropy,
  Rope,
};

/** Every kernel a complete backend provides. */
export const KERNEL_NAMES = Object.keys(kernelNames) as readonly KernelName[];
