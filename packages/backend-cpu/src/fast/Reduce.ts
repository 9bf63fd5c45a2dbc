import { Reduce } from '@octet/core';
import { allocateUninitialized, defineCpuKernel, output, values } from '../base.js';
import { reduceConfig as referenceReduce } from '../kernels/Reduce.js';

/**
 * Reductions over trailing axes (a norm's statistics, a softmax gradient's row sums, the amax of
 * each group of FP8-saved activations) as one Float32Array loop per op, which V8 compiles tight;
 * the values and the order of the additions are the reference's. Other axes go to the reference.
 */
export const reduceConfig = defineCpuKernel(Reduce, (args) => {
  const {
    inputs: { x },
    attrs: { op, axes, keepDims },
  } = args;
  const rank = x.shape.length;
  const trailing = axes.length > 0 && [...axes].sort((a, b) => a - b).every((a, i, sorted) => a === rank - sorted.length + i);
  const xs = values(x);
  if (!trailing || !(xs instanceof Float32Array)) return referenceReduce.kernelFunc(args);
  const length = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const count = length === 0 ? 0 : xs.length / length;
  const out = allocateUninitialized(
    Float32Array,
    x.shape.slice(0, rank - axes.length).reduce((p, d) => p * d, 1),
  );
  if (op === 'sum') sums(xs, out, count, length);
  else if (op === 'max') maxima(xs, out, count, length);
  else absoluteMaxima(xs, out, count, length);
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.slice(0, rank - axes.length);
  return output(out, shape);
});

function sums(xs: Float32Array, out: Float32Array, count: number, length: number): void {
  for (let o = 0, start = 0; o < count; o++, start += length) {
    let acc = 0;
    for (let j = start; j < start + length; j++) acc += xs[j]!;
    out[o] = acc;
  }
}

// NaN wins, as in the reference: `v !== v` is the inlined isNaN.
function maxima(xs: Float32Array, out: Float32Array, count: number, length: number): void {
  for (let o = 0, start = 0; o < count; o++, start += length) {
    let acc = Number.NEGATIVE_INFINITY;
    for (let j = start; j < start + length; j++) {
      const v = xs[j]!;
      if (v > acc || v !== v) acc = v;
    }
    out[o] = acc;
  }
}

function absoluteMaxima(xs: Float32Array, out: Float32Array, count: number, length: number): void {
  for (let o = 0, start = 0; o < count; o++, start += length) {
    let acc = 0;
    for (let j = start; j < start + length; j++) {
      const v = Math.abs(xs[j]!);
      if (v > acc || v !== v) acc = v;
    }
    out[o] = acc;
  }
}
