import { Softmax } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';
import { softmaxConfig as referenceSoftmax } from '../kernels/Softmax.js';

/** Shorter inputs stay in JavaScript (the copies in and out of WASM memory would cost more). */
const MIN_WASM_ELEMENTS = 64;

/** Softmax over the last axis in WASM (wasm/Softmax.ts): the reference's arithmetic, exponentials in f64 lanes. */
export const softmaxConfig = defineCpuKernel(Softmax, (args) => {
  const {
    inputs: { x },
    attrs: { causal },
    backend,
  } = args;
  const xs = values(x);
  const rank = x.shape.length;
  if (!backend.wasm || xs.length < MIN_WASM_ELEMENTS || (causal && rank < 2)) return referenceSoftmax.kernelFunc(args as never);
  const queries = causal ? x.shape[rank - 2]! : 1;
  const out = backend.wasm.softmax(xs, allocateUninitialized(Float32Array, xs.length), x.shape[rank - 1]!, queries, causal);
  return output(out, x.shape);
});
