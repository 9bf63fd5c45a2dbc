import { Quantize } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { quantizeConfig as referenceQuantize } from '../kernels/Quantize.js';

/** Shorter inputs stay in JavaScript (the copies in and out of WASM memory would cost more). */
const MIN_WASM_ELEMENTS = 16;

/** q = fp8(x · scale) in WASM (wasm/Quantize.ts): the codes of core's codec, sixteen values at a time. */
export const quantizeConfig = defineCpuKernel(Quantize, (args) => {
  const {
    inputs: { x, scale },
    attrs: { format, saturate },
    backend,
  } = args;
  const xs = values(x);
  if (!backend.wasm || xs.length < MIN_WASM_ELEMENTS) return referenceQuantize.kernelFunc(args);
  return output(backend.wasm.quantize(xs, Math.fround(values(scale)[0]!), format, saturate), x.shape, 'uint8');
});
