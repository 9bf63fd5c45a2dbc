import { Softmax } from '@octet/core';
import { allocate, defineCpuKernel, output, values } from '../base.js';

export const softmaxConfig = defineCpuKernel(Softmax, ({ inputs: { x }, attrs: { causal } }) => {
  const xs = values(x);
  const rank = x.shape.length;
  const width = x.shape[rank - 1]!;
  const queries = causal ? x.shape[rank - 2]! : 1;
  const out = allocate(Float32Array, xs.length);
  for (let r = 0; r * width < xs.length; r++) {
    const start = r * width;
    // Causal: query i sees keys 0..i + (Tk - Tq); the rest stay 0.
    const visible = causal ? Math.min(width, (r % queries) + (width - queries) + 1) : width;
    let maxValue = -Infinity;
    for (let j = 0; j < visible; j++) maxValue = Math.max(maxValue, xs[start + j]!);
    let total = 0;
    for (let j = 0; j < visible; j++) {
      const e = Math.exp(xs[start + j]! - maxValue);
      out[start + j] = e;
      total += e;
    }
    const inv = 1 / total;
    for (let j = 0; j < visible; j++) out[start + j]! *= inv;
  }
  return output(out, x.shape);
});
