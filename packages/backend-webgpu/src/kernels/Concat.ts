import { Concat, sizeOf, type TensorInfo } from '@octet/core';
import { defineWebGpuKernel, type WebGpuBackend } from '../base.js';
import { movementGrid } from '../shaders/movement.wgsl.js';
import { CONCAT_INPUTS_PER_PASS, concatProgram } from './Concat.wgsl.js';

function concat(xs: readonly TensorInfo[], axis: number, backend: WebGpuBackend): TensorInfo {
  if (xs.length > CONCAT_INPUTS_PER_PASS) {
    // Join the first few, then join that with the rest.
    const head = concat(xs.slice(0, CONCAT_INPUTS_PER_PASS), axis, backend);
    const result = concat([head, ...xs.slice(CONCAT_INPUTS_PER_PASS)], axis, backend);
    backend.disposeData(head.dataId);
    return result;
  }
  const first = xs[0]!;
  const shape = [...first.shape];
  shape[axis] = xs.reduce((p, t) => p + t.shape[axis]!, 0);
  const innerOf = (dims: readonly number[]) => dims.slice(axis).reduce((p, d) => p * d, 1);
  let offset = 0;
  const perInput = xs.flatMap((t) => {
    const inner = innerOf(t.shape);
    const entry = [inner, offset];
    offset += inner;
    return entry;
  });
  const n = sizeOf(shape);
  return backend.run({
    program: concatProgram(xs.length, first.dtype),
    inputs: xs,
    output: { shape, dtype: first.dtype },
    uniforms: [n, innerOf(shape), ...perInput],
    workgroups: movementGrid(first.dtype, n),
  });
}

export const concatConfig = defineWebGpuKernel(Concat, ({ inputs: { xs }, attrs: { axis }, backend }) => concat(xs, axis, backend));
