import { Binary, broadcastShapes, broadcastStrides, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { binaryProgram } from './Binary.wgsl.js';

export const binaryConfig = defineWebGpuKernel(Binary, ({ inputs: { a, b }, attrs: { op }, backend }) => {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = sizeOf(shape);
  const sa = broadcastStrides(a.shape, shape);
  const sb = broadcastStrides(b.shape, shape);
  // Uniform order matches the program: n, then (shape, aStride, bStride) from the last axis.
  const perAxis = [...shape.keys()].reverse().flatMap((d) => [shape[d]!, sa[d]!, sb[d]!]);
  return backend.run({
    program: binaryProgram(op, shape.length),
    inputs: [a, b],
    output: { shape, dtype: 'float32' },
    uniforms: [n, ...perAxis],
    workgroups: elementwiseGrid(n),
  });
});
