import { check, SoftmaxCrossEntropy } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { softmaxCrossEntropyConfig as referenceSoftmaxCrossEntropy } from '../kernels/SoftmaxCrossEntropy.js';

/** Smaller inputs stay in JavaScript (the copies in and out of WASM memory would cost more). */
const MIN_WASM_ELEMENTS = 64;

/**
 * Cross-entropy per row with the exponentials and their sums in WASM (wasm/Softmax.ts); the log and
 * the rest of the reference's arithmetic here.
 */
export const softmaxCrossEntropyConfig = defineCpuKernel(SoftmaxCrossEntropy, (args) => {
  const {
    inputs: { logits, targets },
    backend,
  } = args;
  const xs = values(logits);
  if (!backend.wasm || xs.length < MIN_WASM_ELEMENTS) return referenceSoftmaxCrossEntropy.kernelFunc(args as never);
  const [rows, vocab] = logits.shape as [number, number];
  const ts = values<Int32Array>(targets);
  for (let r = 0; r < rows; r++) {
    check(ts[r]! >= 0 && ts[r]! < vocab, 'softmaxCrossEntropy: target', ts[r], `an integer in [0, ${vocab})`);
  }
  const parts = backend.wasm.logSumExpParts(xs, vocab);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = Math.log(parts[2 * r + 1]!) + parts[2 * r]! - xs[r * vocab + ts[r]!]!;
  return output(out, [rows]);
});
