import { type BinaryAttrs, type BinaryInputs, check, type KernelConfig, sizeOf } from '@octet/core';
import type { WebGpuBackend } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { binaryProgram } from './Binary.wgsl.js';

/** numpy broadcasting of two shapes (aligned at the trailing dimension). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    check(
      da === db || da === 1 || db === 1,
      'broadcast shapes',
      `[${a.join(', ')}] and [${b.join(', ')}]`,
      'equal trailing dimensions or 1',
    );
    out.push(Math.max(da, db));
  }
  return out;
}

/** Element strides of `shape` seen through the broadcast `outShape` (0 along broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[outShape.length - shape.length + i] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

export const binaryConfig: KernelConfig = {
  kernelName: 'Binary',
  kernelFunc: ({ inputs: { a, b }, attrs: { op }, backend }: { inputs: BinaryInputs; attrs: BinaryAttrs; backend: WebGpuBackend }) => {
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
  },
};
