import type { RoundToAttrs } from '@octet/core';
import { FLAT_INDEX, type Program } from '../program.js';
import { f16Wgsl } from '../shaders/fp8.wgsl.js';

/** bf16: keep the top 16 bits, rounding the low half to nearest even; NaN stays a (quiet) NaN. */
const BF16_WGSL = `
fn bf16_round(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) { return bitcast<f32>(u | 0x400000u); }
  return bitcast<f32>(((u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u) << 16u);
}
`;

export function roundToProgram(format: RoundToAttrs['format']): Program {
  return {
    key: `RoundTo:${format}`,
    inputs: [{ name: 'xs', type: 'f32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [{ name: 'n', type: 'u32' }],
    workgroupSize: [256],
    helpers: format === 'bf16' ? BF16_WGSL : f16Wgsl(),
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = ${format === 'bf16' ? 'bf16_round(xs[i])' : 'f16_decode(f16_encode(xs[i], false))'};`,
  };
}
