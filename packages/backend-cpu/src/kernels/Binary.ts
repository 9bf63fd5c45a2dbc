import type { BinaryAttrs, BinaryInputs, KernelConfig } from '@octet/core';
import { broadcastShapes, broadcastStrides } from '@octet/core';
import { output, values } from '../base.js';

const FUNCTIONS: Record<BinaryAttrs['op'], (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a < b || Number.isNaN(a) ? a : b),
  pow: Math.pow,
};

export const binaryConfig: KernelConfig = {
  kernelName: 'Binary',
  kernelFunc: ({ inputs: { a, b }, attrs: { op } }: { inputs: BinaryInputs; attrs: BinaryAttrs }) => {
    const f = FUNCTIONS[op];
    const av = values(a);
    const bv = values(b);
    const shape = broadcastShapes(a.shape, b.shape);
    const size = shape.reduce((p, d) => p * d, 1);
    const out = new Float32Array(size);
    if (av.length === size && bv.length === size) {
      for (let i = 0; i < size; i++) out[i] = f(av[i]!, bv[i]!);
    } else if (av.length === size && bv.length === 1) {
      const s = bv[0]!;
      for (let i = 0; i < size; i++) out[i] = f(av[i]!, s);
    } else {
      // General case: walk the output with an index counter; the innermost axis is a tight loop.
      const rank = shape.length;
      const sa = broadcastStrides(a.shape, shape);
      const sb = broadcastStrides(b.shape, shape);
      const inner = shape[rank - 1] ?? 1;
      const ia = sa[rank - 1] ?? 0;
      const ib = sb[rank - 1] ?? 0;
      const index = new Array<number>(rank).fill(0);
      let offsetA = 0;
      let offsetB = 0;
      for (let o = 0; o < size; o += inner) {
        for (let j = 0; j < inner; j++) out[o + j] = f(av[offsetA + j * ia]!, bv[offsetB + j * ib]!);
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
