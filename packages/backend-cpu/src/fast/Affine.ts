import { Affine } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';
import { affineConfig as referenceAffine } from '../kernels/Affine.js';

/** Shorter inputs stay in JavaScript, as in fast/Binary.ts. */
const MIN_WASM_ELEMENTS = 16384;

/** x · scale + shift in WASM (wasm/Elementwise.ts): the reference's f64 arithmetic, two lanes at a time. */
export const affineConfig = defineCpuKernel(Affine, (args) => {
  const {
    inputs: { x },
    attrs: { scale, shift },
    backend,
  } = args;
  const xs = values(x);
  if (!backend.wasm || xs.length < MIN_WASM_ELEMENTS) return referenceAffine.kernelFunc(args as never);
  return output(backend.wasm.affine(xs, allocateUninitialized(Float32Array, xs.length), scale, shift), x.shape);
});
