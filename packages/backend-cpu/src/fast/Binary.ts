import type { BinaryAttrs, BinaryInputs, BinaryOp, KernelConfig } from '@octet/core';
import { broadcastShapes, broadcastStrides } from '@octet/core';
import { output, values } from '../base.js';
import { binaryConfig as referenceBinary } from '../kernels/Binary.js';

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
    const out = new Float32Array(size);
    const rank = shape.length;
    if (av.length === size && bv.length === size) rows(op, out, 0, av, 0, 1, bv, 0, 1, size);
    else if (av.length === size && bv.length === 1) rows(op, out, 0, av, 0, 1, bv, 0, 0, size);
    else if (av.length === 1 && bv.length === size) rows(op, out, 0, av, 0, 0, bv, 0, 1, size);
    else {
      // Walk the output one innermost row at a time, as the reference does.
      const sa = broadcastStrides(a.shape, shape);
      const sb = broadcastStrides(b.shape, shape);
      const inner = shape[rank - 1] ?? 1;
      const ia = sa[rank - 1] ?? 0;
      const ib = sb[rank - 1] ?? 0;
      const index = new Array<number>(rank).fill(0);
      let offsetA = 0;
      let offsetB = 0;
      for (let o = 0; o < size; o += inner) {
        rows(op, out, o, av, offsetA, ia, bv, offsetB, ib, inner);
        for (let axis = rank - 2; axis >= 0; axis--) {
          index[axis]!++;
          offsetA += sa[axis]!;
          offsetB += sb[axis]!;
          if (index[axis]! < shape[axis]!) break;
          offsetA -= sa[axis]! * shape[axis]!;
          offsetB -= sb[axis]! * shape[axis]!;
          index[axis] = 0;
        }
      }
    }
    return output(out, shape);
  },
};
