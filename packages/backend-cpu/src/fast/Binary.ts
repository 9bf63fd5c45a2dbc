import type { BinaryAttrs, BinaryInputs, BinaryOp, KernelConfig } from '@octet/core';
import { broadcastShapes } from '@octet/core';
import { allocateUninitialized, output, values } from '../base.js';
import { binaryConfig as referenceBinary } from '../kernels/Binary.js';
import { forEachBroadcastRow } from '../kernels/Binary_impl.js';

/**
 * The reference Binary calls one of seven closures per element, a call V8 cannot inline; here each
 * arithmetic op has its own loop, so the same expressions (hence the same f32 results) run inline.
 * maximum, minimum and pow stay on the reference kernel.
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
    default:
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
  }
}

const INLINE_OPS = new Set<BinaryOp>(['add', 'sub', 'mul', 'div']);

export const binaryConfig: KernelConfig = {
  kernelName: 'Binary',
  kernelFunc: (args: { inputs: BinaryInputs; attrs: BinaryAttrs }) => {
    const {
      inputs: { a, b },
      attrs: { op },
    } = args;
    if (!INLINE_OPS.has(op)) return referenceBinary.kernelFunc(args as never);
    const av = values(a);
    const bv = values(b);
    const shape = broadcastShapes(a.shape, b.shape);
    const size = shape.reduce((p, d) => p * d, 1);
    const out = allocateUninitialized(Float32Array, size);
    if (av.length === size && bv.length === size) sameShape(op, out, av, bv);
    else if (av.length === size && bv.length === 1) rows(op, out, 0, av, 0, 1, bv, 0, 0, size);
    else if (av.length === 1 && bv.length === size) rows(op, out, 0, av, 0, 0, bv, 0, 1, size);
    else forEachBroadcastRow(a.shape, b.shape, shape, (o, ia, sa, ib, sb, n) => rows(op, out, o, av, ia, sa, bv, ib, sb, n));
    return output(out, shape);
  },
};
