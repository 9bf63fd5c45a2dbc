import type { Fp8Format } from '@octet/core';
import { FLAT_INDEX, type Program } from '../program.js';
import { fp8Wgsl, packedByte } from '../shaders/fp8.wgsl.js';

export function dequantizeProgram(format: Fp8Format): Program {
  return {
    key: `Dequantize:${format}`,
    inputs: [
      { name: 'q', type: 'u32' },
      { name: 'scale', type: 'f32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [{ name: 'n', type: 'u32' }],
    workgroupSize: [256],
    helpers: fp8Wgsl(format),
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = ${format}_decode(${packedByte('q', 'i')}) / scale[0];`,
  };
}
