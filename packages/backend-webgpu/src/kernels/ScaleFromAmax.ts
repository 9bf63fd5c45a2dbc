import { ScaleFromAmax, sizeOf } from '@octet/core';
import { defineWebGpuKernel } from '../base.js';
import { scaleFromAmaxProgram } from './ScaleFromAmax.wgsl.js';

export const scaleFromAmaxConfig = defineWebGpuKernel(ScaleFromAmax, ({ inputs: { amaxHistory }, attrs, backend }) =>
  backend.run({
    program: scaleFromAmaxProgram(attrs.reduce, attrs.powerOfTwo),
    inputs: [amaxHistory],
    output: { shape: [], dtype: 'float32' },
    uniforms: [sizeOf(amaxHistory.shape), attrs.fp8Max, 2 ** attrs.margin],
    workgroups: [1, 1, 1],
  }),
);
