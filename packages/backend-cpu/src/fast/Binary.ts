import { Binary, type BinaryOp, broadcastShapes } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';
import { forEachBroadcastRow } from '../kernels/Binary_impl.js';

/**
 * The reference Binary calls one of seven closures per element, a call V8 cannot inline; here each
 * op has its own loop, so the same expressions (hence the same f32 results) run inline.
 */
function rows(
  op: BinaryOp,
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = a[ia]! + b[ib]!;
      return;
    case 'sub':
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = a[ia]! - b[ib]!;
      return;
    case 'mul':
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = a[ia]! * b[ib]!;
      return;
    case 'maximum':
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = maximum(a[ia]!, b[ib]!);
      return;
    case 'minimum':
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = minimum(a[ia]!, b[ib]!);
      return;
    case 'pow':
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = a[ia]! ** b[ib]!;
      return;
    default:
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = a[ia]! / b[ib]!;
  }
}

/** Operands of the output's shape: one index for all three arrays, which V8 compiles much tighter. */
function sameShape(op: BinaryOp, out: Float32Array, a: Float32Array, b: Float32Array): void {
  const n = out.length;
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      return;
    case 'sub':
      for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      return;
    case 'mul':
      for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      return;
    case 'maximum':
      for (let i = 0; i < n; i++) out[i] = maximum(a[i]!, b[i]!);
      return;
    case 'minimum':
      for (let i = 0; i < n; i++) out[i] = minimum(a[i]!, b[i]!);
      return;
    case 'pow':
      for (let i = 0; i < n; i++) out[i] = a[i]! ** b[i]!;
      return;
    default:
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
  }
}

// The reference's NaN-propagating maximum and minimum, small enough for V8 to inline into the loops.
const maximum = (a: number, b: number) => (a > b || Number.isNaN(a) ? a : b);
const minimum = (a: number, b: number) => (a < b || Number.isNaN(a) ? a : b);
const WASM_OP: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3 };

/**
 * Fewer outputs stay in JavaScript: the copies in and out of WASM memory cost more (in a timing
 * loop outside the repository, an add of 4,096 values took 12–23 µs in WASM against 9 in
 * JavaScript; of 16,384, 13–24 against 28–32).
 */
const MIN_WASM_ELEMENTS = 16384;

/**
 * How the WASM kernel reads `part` against an operand of the output's shape (wasm/Elementwise.ts),
 * or null for broadcasts it does not cover: the same shape, a scalar, a vector along the last axis
 * (a norm's gain) or one value per row (a norm's statistics).
 */
function broadcastLayout(shape: readonly number[], partShape: readonly number[], size: number, partSize: number) {
  const n = shape.at(-1) ?? 1;
  const rows = size / n;
  if (partSize === size) return { rows: 1, n: size, partRowStep: 0, partStep: 1 };
  if (partSize === 1) return { rows: 1, n: size, partRowStep: 0, partStep: 0 };
  const padded = [...Array<number>(shape.length - partShape.length).fill(1), ...partShape];
  const leading = padded.slice(0, -1);
  if (padded.at(-1) === n && leading.every((d) => d === 1)) return { rows, n, partRowStep: 0, partStep: 1 };
  if (padded.at(-1) === 1 && leading.every((d, i) => d === shape[i])) return { rows, n, partRowStep: 1, partStep: 0 };
  return null;
}

/** add/sub/mul/div: in WASM from 16,384 outputs when it covers the broadcast; the rest in the loops above. */
export const binaryConfig = defineCpuKernel(Binary, (args) => {
  const {
    inputs: { a, b },
    attrs: { op },
    backend,
  } = args;
  const av = values(a);
  const bv = values(b);
  const shape = broadcastShapes(a.shape, b.shape);
  const size = shape.reduce((p, d) => p * d, 1);
  const out = allocateUninitialized(Float32Array, size);
  if (backend.wasm && op in WASM_OP && size >= MIN_WASM_ELEMENTS && (av.length === size || bv.length === size)) {
    const swap = av.length !== size;
    const layout = swap ? broadcastLayout(shape, a.shape, size, av.length) : broadcastLayout(shape, b.shape, size, bv.length);
    if (layout) return output(backend.wasm.binary(WASM_OP[op]!, swap ? bv : av, swap ? av : bv, out, { ...layout, swap }), shape);
  }
  if (av.length === size && bv.length === size) sameShape(op, out, av, bv);
  else if (av.length === size && bv.length === 1) rows(op, out, 0, av, 0, 1, bv, 0, 0, size);
  else if (av.length === 1 && bv.length === size) rows(op, out, 0, av, 0, 0, bv, 0, 1, size);
  else forEachBroadcastRow(a.shape, b.shape, shape, (o, ia, sa, ib, sb, n) => rows(op, out, o, av, ia, sa, bv, ib, sb, n));
  return output(out, shape);
});
