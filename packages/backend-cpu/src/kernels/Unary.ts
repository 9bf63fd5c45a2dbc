import { Unary, type UnaryAttrs } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

const FUNCTIONS: Record<UnaryAttrs['op'], (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => Math.max(x, 0),
  gelu: geluTanh,
  square: (x) => x * x,
  abs: Math.abs,
  reciprocal: (x) => 1 / x,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  step: (x) => (x > 0 ? 1 : 0),
};

export const unaryConfig = defineCpuKernel(Unary, ({ inputs: { x }, attrs: { op } }) => {
  const f = FUNCTIONS[op];
  const xs = values(x);
  const out = allocateUninitialized(Float32Array, xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = f(xs[i]!);
  return output(out, x.shape);
});
