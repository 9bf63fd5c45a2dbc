import { Binary, type BinaryAttrs, broadcastShapes } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';
import { forEachBroadcastRow } from './Binary_impl.js';

const FUNCTIONS: Record<BinaryAttrs['op'], (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a < b || Number.isNaN(a) ? a : b),
  pow: Math.pow,
};

export const binaryConfig = defineCpuKernel(Binary, ({ inputs: { a, b }, attrs: { op } }) => {
  const f = FUNCTIONS[op];
  const av = values(a);
  const bv = values(b);
  const shape = broadcastShapes(a.shape, b.shape);
  const size = shape.reduce((p, d) => p * d, 1);
  const out = allocateUninitialized(Float32Array, size);
  if (av.length === size && bv.length === size) {
    for (let i = 0; i < size; i++) out[i] = f(av[i]!, bv[i]!);
  } else if (av.length === size && bv.length === 1) {
    const s = bv[0]!;
    for (let i = 0; i < size; i++) out[i] = f(av[i]!, s);
  } else {
    // General case: one innermost row at a time, a tight loop each.
    forEachBroadcastRow(a.shape, b.shape, shape, (o, ia, sa, ib, sb, n) => {
      for (let j = 0; j < n; j++, ia += sa, ib += sb) out[o + j] = f(av[ia]!, bv[ib]!);
    });
  }
  return output(out, shape);
});
