import { GeluGrad, Unary, type UnaryAttrs } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';
import { unaryConfig as referenceUnary } from '../kernels/Unary.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const CUBIC = 0.044715;

/** Shorter arrays stay in JavaScript (the copies in and out of WASM memory would cost more). */
const MIN_WASM_ELEMENTS = 64;
/** ...and for the cheap ops (wasm/Elementwise.ts), shorter than this, as in fast/Binary.ts. */
const MIN_WASM_ELEMENTWISE = 16384;
const WASM_UNARY: Partial<Record<UnaryAttrs['op'], number>> = { neg: 0, square: 1, sqrt: 2, rsqrt: 3 };

/**
 * tanh-GELU with one exp instead of Math.tanh (the reference's cost in training and decoding):
 * 0.5·x·(1 + tanh(u)) = x / (1 + e^(−2u)). f64 throughout, so the f32 results match the
 * reference's to the last bit but for rare rounding ties (within the kernel contract's 1e-6);
 * the limits agree too: x → −∞ gives NaN in both, large negative x gives −0. The WASM kernel
 * (wasm/Gelu.ts) computes the same with a polynomial e^t, two lanes at a time.
 */
function gelu(xs: Float32Array, out: Float32Array): void {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    out[i] = x / (1 + Math.exp(-2 * SQRT_2_OVER_PI * (x + CUBIC * x * x * x)));
  }
}

/**
 * The reference Unary calls a closure per element; here the common ops run as inline loops with
 * the reference's expressions (bit-identical), gelu through `gelu` above, and large arrays of
 * neg/square/sqrt/rsqrt in WASM (bit-identical too). The rest stay on the reference kernel.
 */
const INLINE_OPS = new Set<UnaryAttrs['op']>(['gelu', 'exp', 'log', 'neg', 'square', 'rsqrt', 'sqrt', 'abs', 'sign', 'step', 'reciprocal']);

export const unaryConfig = defineCpuKernel(Unary, (args) => {
  const {
    inputs: { x },
    attrs: { op },
    backend,
  } = args;
  if (!INLINE_OPS.has(op)) return referenceUnary.kernelFunc(args as never);
  const xs = values(x);
  const out = allocateUninitialized(Float32Array, xs.length);
  const wasmOp = WASM_UNARY[op];
  if (backend.wasm && wasmOp !== undefined && xs.length >= MIN_WASM_ELEMENTWISE)
    return output(backend.wasm.unary(wasmOp, xs, out), x.shape);
  switch (op) {
    case 'gelu':
      if (backend.wasm && xs.length >= MIN_WASM_ELEMENTS) backend.wasm.gelu(xs, out);
      else gelu(xs, out);
      break;
    case 'exp':
      for (let i = 0; i < xs.length; i++) out[i] = Math.exp(xs[i]!);
      break;
    case 'log':
      for (let i = 0; i < xs.length; i++) out[i] = Math.log(xs[i]!);
      break;
    case 'abs':
      for (let i = 0; i < xs.length; i++) out[i] = Math.abs(xs[i]!);
      break;
    case 'sign':
      for (let i = 0; i < xs.length; i++) out[i] = xs[i]! > 0 ? 1 : xs[i]! < 0 ? -1 : 0;
      break;
    case 'step':
      for (let i = 0; i < xs.length; i++) out[i] = xs[i]! > 0 ? 1 : 0;
      break;
    case 'reciprocal':
      for (let i = 0; i < xs.length; i++) out[i] = 1 / xs[i]!;
      break;
    case 'neg':
      for (let i = 0; i < xs.length; i++) out[i] = -xs[i]!;
      break;
    case 'square':
      for (let i = 0; i < xs.length; i++) out[i] = xs[i]! * xs[i]!;
      break;
    case 'rsqrt':
      for (let i = 0; i < xs.length; i++) out[i] = 1 / Math.sqrt(xs[i]!);
      break;
    default: // 'sqrt'
      for (let i = 0; i < xs.length; i++) out[i] = Math.sqrt(xs[i]!);
  }
  return output(out, x.shape);
});

/**
 * GELU's derivative with the same one-exp form: with s = 1 / (1 + e^(−2u)) (so 0.5·(1 + tanh u) = s
 * and 1 − tanh²u = 4·s·(1 − s)), d/dx = s + 2·x·s·(1 − s)·√(2/π)·(1 + 3·0.044715·x²).
 */
export const geluGradConfig = defineCpuKernel(GeluGrad, ({ inputs: { dy, x }, backend }) => {
  const dys = values(dy);
  const xs = values(x);
  const out = allocateUninitialized(Float32Array, xs.length);
  if (backend.wasm && xs.length >= MIN_WASM_ELEMENTS) return output(backend.wasm.geluGrad(dys, xs, out), x.shape);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    const s = 1 / (1 + Math.exp(-2 * SQRT_2_OVER_PI * (v + CUBIC * v * v * v)));
    out[i] = dys[i]! * (s + 2 * v * s * (1 - s) * SQRT_2_OVER_PI * (1 + 3 * CUBIC * v * v));
  }
  return output(out, x.shape);
});
