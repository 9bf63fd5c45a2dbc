/**
 * The differentiable ops, as functions over Tensors (tfjs style). Each is one kernel call (or a
 * view); gradients for each kernel live in ../gradients.ts, written with these same ops.
 */
import type { AnyTypedArray, DType } from '../backend.js';
import { sizeOf } from '../backend.js';
import { ENGINE } from '../engine.js';
import { check } from '../errors.js';
import * as K from '../kernel-names.js';
import type { Fp8Format } from '../numerics.js';
import { Random } from '../random.js';
import type { Tensor } from '../tensor.js';

// ---------- creation ----------

/** Uploads host values. `dtype` defaults from the array type. */
export function tensor(values: AnyTypedArray | number[], shape: readonly number[], dtype?: DType): Tensor {
  const array = Array.isArray(values) ? (dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values)) : values;
  const inferred: DType = array instanceof Float32Array ? 'float32' : array instanceof Int32Array ? 'int32' : 'uint8';
  check(array.length === sizeOf(shape), 'values', `${array.length} values`, `${sizeOf(shape)} values for shape [${shape.join(', ')}]`);
  check(dtype === undefined || dtype === inferred, 'dtype', dtype, `${inferred} (the type of the values array)`);
  return ENGINE.upload(array, shape, inferred);
}

export function scalar(value: number): Tensor {
  return tensor(new Float32Array([value]), []);
}

export function fill(shape: readonly number[], value: number, dtype: 'float32' | 'int32' = 'float32'): Tensor {
  return ENGINE.runKernel(K.Fill, {}, { shape: [...shape], value, dtype });
}

export const zeros = (shape: readonly number[]): Tensor => fill(shape, 0);
export const ones = (shape: readonly number[]): Tensor => fill(shape, 1);

/** Normal(mean, std) values from a seeded generator (drawn on the host, then uploaded). */
export function randomNormal(shape: readonly number[], { std = 1, mean = 0, seed }: { std?: number; mean?: number; seed: number }): Tensor {
  const random = new Random(seed);
  const values = new Float32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = mean + std * random.normal();
  return tensor(values, shape);
}

// ---------- elementwise ----------

const unary =
  (op: K.UnaryOp) =>
  (x: Tensor): Tensor =>
    ENGINE.runKernel(K.Unary, { x }, { op });
export const neg = unary('neg');
export const exp = unary('exp');
export const log = unary('log');
export const sqrt = unary('sqrt');
export const rsqrt = unary('rsqrt');
export const tanh = unary('tanh');
export const sigmoid = unary('sigmoid');
export const relu = unary('relu');
/** GELU, tanh approximation (as GPT-2). */
export const gelu = unary('gelu');
export const square = unary('square');
export const abs = unary('abs');
export const reciprocal = unary('reciprocal');
export const sign = unary('sign');
export const step = unary('step');

const binary =
  (op: K.BinaryOp) =>
  (a: Tensor, b: Tensor): Tensor =>
    ENGINE.runKernel(K.Binary, { a, b }, { op });
export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');
export const maximum = binary('maximum');
export const minimum = binary('minimum');
export const pow = binary('pow');

/** x · scale + shift with scalar constants. */
export function affine(x: Tensor, scale: number, shift = 0): Tensor {
  return ENGINE.runKernel(K.Affine, { x }, { scale, shift });
}

export const mulScalar = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, s: number): Tensor => affine(x, 1, s);

export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

export function geluGrad(dy: Tensor, x: Tensor): Tensor {
  return ENGINE.runKernel(K.GeluGrad, { dy, x });
}

/** Rounds to the nearest bf16/f16 value; the gradient passes straight through. */
export function roundTo(x: Tensor, format: 'bf16' | 'f16'): Tensor {
  return ENGINE.runKernel(K.RoundTo, { x }, { format });
}

// ---------- shape ----------

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = resolveShape(shape, x.size);
  check(
    sizeOf(resolved) === x.size,
    'reshape: shape',
    `[${shape.join(', ')}]`,
    `a shape with ${x.size} elements (from [${x.shape.join(', ')}])`,
  );
  return ENGINE.reshape(x, resolved);
}

function resolveShape(shape: readonly number[], size: number): number[] {
  const inferred = shape.indexOf(-1);
  if (inferred < 0) return [...shape];
  const known = shape.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
  return shape.map((d, i) => (i === inferred ? size / known : d));
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  check(
    perm.length === x.rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i),
    'transpose: perm',
    perm,
    `a permutation of 0..${x.rank - 1}`,
  );
  return ENGINE.runKernel(K.Transpose, { x }, { perm: [...perm] });
}

export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const resolved = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
  check(
    begin.length === x.rank &&
      resolved.length === x.rank &&
      resolved.every((s, i) => begin[i]! >= 0 && s >= 0 && begin[i]! + s <= x.shape[i]!),
    'slice: begin/size',
    { begin, size },
    `a box inside [${x.shape.join(', ')}]`,
  );
  return ENGINE.runKernel(K.Slice, { x }, { begin: [...begin], size: resolved });
}

export function concat(xs: Tensor[], axis: number): Tensor {
  check(xs.length > 0, 'concat: tensors', xs, 'at least one tensor');
  const rank = xs[0]!.rank;
  const a = axis < 0 ? axis + rank : axis;
  check(
    xs.every((t) => t.rank === rank && t.shape.every((d, i) => i === a || d === xs[0]!.shape[i])),
    'concat: shapes',
    xs.map((t) => `[${t.shape.join(', ')}]`).join(' '),
    `equal shapes except along axis ${a}`,
  );
  return ENGINE.runKernel(K.Concat, { xs }, { axis: a });
}

/** Rows of `table` (V, D) at int32 `indices` → (...indices.shape, D). */
export function gather(table: Tensor, indices: Tensor): Tensor {
  check(indices.dtype === 'int32', 'gather: indices dtype', indices.dtype, 'int32');
  return ENGINE.runKernel(K.Gather, { table, indices });
}

export function scatterAdd(updates: Tensor, indices: Tensor, numRows: number): Tensor {
  return ENGINE.runKernel(K.ScatterAdd, { updates, indices }, { numRows });
}

export function oneHot(indices: Tensor, depth: number): Tensor {
  return ENGINE.runKernel(K.OneHot, { indices }, { depth });
}

export function cast(x: Tensor, dtype: 'float32' | 'int32'): Tensor {
  return ENGINE.runKernel(K.Cast, { x }, { dtype });
}

// ---------- reductions ----------

function normalizeAxes(x: Tensor, axes: number | readonly number[] | undefined): number[] {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : [...axes];
  const resolved = [...new Set(list.map((a) => (a < 0 ? a + x.rank : a)))].sort((a, b) => a - b);
  check(
    resolved.every((a) => a >= 0 && a < x.rank),
    'axes',
    axes,
    `axes in [-${x.rank}, ${x.rank - 1}]`,
  );
  return resolved;
}

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return ENGINE.runKernel(K.Reduce, { x }, { op: 'sum', axes: normalizeAxes(x, axes), keepDims });
}

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const resolved = normalizeAxes(x, axes);
  const count = resolved.reduce((p, a) => p * x.shape[a]!, 1);
  return mulScalar(sum(x, resolved, keepDims), 1 / count);
}

export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return ENGINE.runKernel(K.Reduce, { x }, { op: 'max', axes: normalizeAxes(x, axes), keepDims });
}

/** max |x| over `axes` (all by default): the amax of FP8 scaling. */
export function amax(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return ENGINE.runKernel(K.Reduce, { x }, { op: 'amax', axes: normalizeAxes(x, axes), keepDims });
}

/** Sums `dy` over broadcast dimensions so it has `shape` (the gradient of broadcasting). */
export function sumToShape(dy: Tensor, shape: readonly number[]): Tensor {
  if (dy.rank === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  return reshape(sum(dy, axes, true), shape);
}

// ---------- matmul ----------

export function matMul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  checkMatMulShapes('matMul', a, b, transposeA, transposeB);
  return ENGINE.runKernel(K.MatMul, { a, b }, { transposeA, transposeB });
}

export function checkMatMulShapes(op: string, a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): void {
  check(a.rank >= 2 && b.rank >= 2, `${op}: operand ranks`, [a.rank, b.rank], 'rank ≥ 2 for both');
  const k1 = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
  const k2 = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  check(
    k1 === k2,
    `${op}: inner dimensions`,
    `[${a.shape.join(', ')}]${transposeA ? 'ᵀ' : ''} × [${b.shape.join(', ')}]${transposeB ? 'ᵀ' : ''}`,
    'equal inner dimensions',
  );
  if (a.rank > 2 && b.rank > 2) {
    check(
      a.rank === b.rank && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]),
      `${op}: batch dimensions`,
      `[${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
      'equal batch dimensions, or a rank-2 operand shared by every batch',
    );
  }
}

// ---------- FP8 ----------

/** q = fp8(x · scale) with a per-tensor f32 scale tensor (shape []). */
export function quantizeTensor(x: Tensor, scale: Tensor, format: Fp8Format, saturate = true): Tensor {
  return ENGINE.runKernel(K.Quantize, { x, scale }, { format, saturate });
}

export function dequantizeTensor(q: Tensor, scale: Tensor, format: Fp8Format): Tensor {
  return ENGINE.runKernel(K.Dequantize, { q, scale }, { format });
}

export interface ScaledMatMulOptions {
  aFormat: Fp8Format;
  bFormat: Fp8Format;
  transposeA?: boolean;
  transposeB?: boolean;
  /** Extra static multiplier on the output (e.g. μnit Scaling's fan_in^-½). */
  alpha?: number;
}

/** alpha · decode(a) @ decode(b) / (aScale · bScale), f32 out. */
export function scaledMatMul(a: Tensor, b: Tensor, aScale: Tensor, bScale: Tensor, options: ScaledMatMulOptions): Tensor {
  const { aFormat, bFormat, transposeA = false, transposeB = false, alpha = 1 } = options;
  checkMatMulShapes('scaledMatMul', a, b, transposeA, transposeB);
  check(a.dtype === 'uint8' && b.dtype === 'uint8', 'scaledMatMul: operand dtypes', [a.dtype, b.dtype], 'uint8 FP8 codes for both');
  return ENGINE.runKernel(K.ScaledMatMul, { a, b, aScale, bScale }, { aFormat, bFormat, transposeA, transposeB, alpha });
}

export function scaleFromAmax(amaxHistory: Tensor, attrs: K.ScaleFromAmaxAttrs): Tensor {
  return ENGINE.runKernel(K.ScaleFromAmax, { amaxHistory }, { ...attrs });
}

// ---------- codebook quantization ----------

/**
 * uint8 codes of `x` on the sorted codebook `map` (nearest entry by float32 midpoints, see the
 * MapQuantize contract), one per byte (bits 8) or two per byte (bits 4, element 2i in the low nibble).
 */
export function mapQuantize(x: Tensor, map: Tensor, bits: 4 | 8 = 8): Tensor {
  check(bits === 4 || bits === 8, 'mapQuantize: bits', bits, '4 or 8');
  check(x.dtype === 'float32', 'mapQuantize: x dtype', x.dtype, 'float32');
  check(
    map.dtype === 'float32' && map.rank === 1 && map.size >= 2 && map.size <= 2 ** bits,
    'mapQuantize: map',
    `${map.dtype} [${map.shape.join(', ')}]`,
    `a 1-D float32 codebook of 2 to ${2 ** bits} sorted entries`,
  );
  return ENGINE.runKernel(K.MapQuantize, { x, map }, { bits });
}

/** The values map[code] of `codes` packed as mapQuantize writes them, as f32 of `shape`. */
export function mapDequantize(codes: Tensor, map: Tensor, shape: readonly number[], bits: 4 | 8 = 8): Tensor {
  check(bits === 4 || bits === 8, 'mapDequantize: bits', bits, '4 or 8');
  const bytes = Math.ceil((sizeOf(shape) * bits) / 8);
  check(
    codes.dtype === 'uint8' && codes.size === bytes,
    'mapDequantize: codes',
    `${codes.dtype} with ${codes.size} elements`,
    `uint8 with ${bytes} elements (${bits}-bit codes of shape [${shape.join(', ')}])`,
  );
  check(
    map.dtype === 'float32' && map.rank === 1 && map.size >= 1 && map.size <= 2 ** bits,
    'mapDequantize: map',
    `${map.dtype} [${map.shape.join(', ')}]`,
    `a 1-D float32 codebook of at most ${2 ** bits} entries`,
  );
  return ENGINE.runKernel(K.MapDequantize, { codes, map }, { bits, shape: [...shape] });
}

// ---------- fused NN ----------

export function softmax(x: Tensor, { causal = false }: { causal?: boolean } = {}): Tensor {
  return ENGINE.runKernel(K.Softmax, { x }, { causal });
}

/** Per-row cross-entropy of logits (N, V) against int32 targets (N). */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  check(logits.rank === 2, 'softmaxCrossEntropy: logits rank', logits.rank, '2 (rows, vocab)');
  check(
    targets.dtype === 'int32' && targets.size === logits.shape[0],
    'softmaxCrossEntropy: targets',
    `${targets.dtype} [${targets.shape.join(', ')}]`,
    `int32 with ${logits.shape[0]} elements`,
  );
  return ENGINE.runKernel(K.SoftmaxCrossEntropy, { logits, targets });
}

/**
 * Rotary position embedding on (B, H, T, D) for positions offset..offset+T-1; with one offset per
 * batch entry (an array of B), entry b's positions start at offset[b].
 */
export function rope(x: Tensor, { base = 10000, offset = 0 }: { base?: number; offset?: number | readonly number[] } = {}): Tensor {
  check(x.rank === 4 && x.shape[3]! % 2 === 0, 'rope: x shape', `[${x.shape.join(', ')}]`, '(B, H, T, D) with an even D');
  const offsets = typeof offset === 'number' ? [offset] : offset;
  check(
    typeof offset === 'number' || offset.length === x.shape[0],
    'rope: offset',
    `${offsets.length} offsets`,
    `one number, or one per batch entry (${x.shape[0]})`,
  );
  for (const start of offsets) check(Number.isInteger(start) && start >= 0, 'rope: offset', start, 'a non-negative integer');
  return ENGINE.runKernel(K.Rope, { x }, { base, offset: typeof offset === 'number' ? offset : [...offset], inverse: false });
}
