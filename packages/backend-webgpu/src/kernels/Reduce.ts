import { Reduce, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { workgroupGrid } from '../program.js';
import { stridesOf } from '../shaders/movement.wgsl.js';
import { reduceProgram } from './Reduce.wgsl.js';

export const reduceConfig = defineWebGpuKernel(Reduce, ({ inputs: { x }, attrs: { op, axes, keepDims }, backend }) => {
  const strides = stridesOf(x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const outCount = sizeOf(kept.map((a) => x.shape[a]!));
  const length = sizeOf(axes.map((a) => x.shape[a]!));
  const fields = (list: readonly number[]) => list.flatMap((a) => [x.shape[a]!, strides[a]!]);
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((a) => x.shape[a]!);
  return backend.run({
    program: reduceProgram(op, kept.length, axes.length),
    inputs: [x],
    output: { shape, dtype: 'float32' },
    uniforms: [outCount, length, op === 'max' ? -Infinity : 0, ...fields(kept), ...fields(axes)],
    workgroups: workgroupGrid(outCount),
  });
});
