import type { DType } from '@octet/core';
import { FLAT_INDEX, type Program } from '../program.js';
import { packedByte } from '../shaders/fp8.wgsl.js';

/** The source element as a number of the target type, written back as its 32-bit pattern. */
function convert(from: DType, to: 'float32' | 'int32'): string {
  const value = from === 'uint8' ? packedByte('xs', 'i') : from === 'int32' ? 'bitcast<i32>(xs[i])' : 'bitcast<f32>(xs[i])';
  if (to === 'float32') return from === 'float32' ? 'xs[i]' : `bitcast<u32>(f32(${value}))`;
  return from === 'int32' ? 'xs[i]' : `bitcast<u32>(i32(${from === 'uint8' ? value : `trunc(${value})`}))`;
}

export function castProgram(from: DType, to: 'float32' | 'int32'): Program {
  return {
    key: `Cast:${from}:${to}`,
    inputs: [{ name: 'xs', type: 'u32' }],
    output: { name: 'out', type: 'u32' },
    uniforms: [{ name: 'n', type: 'u32' }],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = ${convert(from, to)};`,
  };
}
