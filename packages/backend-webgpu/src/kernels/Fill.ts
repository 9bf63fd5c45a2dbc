import { Fill, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { elementwiseGrid } from '../program.js';
import { fillProgram } from './Fill.wgsl.js';

export const fillConfig = defineWebGpuKernel(Fill, ({ attrs: { shape, value, dtype }, backend }) => {
  const n = sizeOf(shape);
  const word = dtype === 'int32' ? new Int32Array([value]) : new Float32Array([value]);
  return backend.run({
    program: fillProgram(),
    inputs: [],
    output: { shape: [...shape], dtype },
    uniforms: [n, new Uint32Array(word.buffer)[0]!],
    workgroups: elementwiseGrid(n),
  });
});
