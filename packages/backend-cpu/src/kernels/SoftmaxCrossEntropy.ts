import { check, SoftmaxCrossEntropy } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

export const softmaxCrossEntropyConfig = defineCpuKernel(SoftmaxCrossEntropy, ({ inputs: { logits, targets } }) => {
  const [rows, vocab] = logits.shape as [number, number];
  const xs = values(logits);
  const ts = values<Int32Array>(targets);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * vocab;
    const target = ts[r]!;
    check(target >= 0 && target < vocab, 'softmaxCrossEntropy: target', target, `an integer in [0, ${vocab})`);
    let maxValue = -Infinity;
    for (let j = 0; j < vocab; j++) maxValue = Math.max(maxValue, xs[start + j]!);
    let total = 0;
    for (let j = 0; j < vocab; j++) total += Math.exp(xs[start + j]! - maxValue);
    out[r] = Math.log(total) + maxValue - xs[start + target]!;
  }
  return output(out, [rows]);
});
