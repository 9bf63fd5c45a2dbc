import type { Fp8Format } from '@octet/core';
import { FLAT_INDEX, type Program } from '../program.js';
import { fp8Wgsl } from '../shaders/fp8.wgsl.js';

/** One thread per output word: four codes of fp8(x · scale), the product rounded to f32 first. */
export function quantizeProgram(format: Fp8Format, saturate: boolean): Program {
  return {
    key: `Quantize:${format}:${saturate ? 'saturate' : 'overflow'}`,
    inputs: [
      { name: 'xs', type: 'f32' },
      { name: 'scale', type: 'f32' },
    ],
    output: { name: 'out', type: 'u32' },
    uniforms: [{ name: 'n', type: 'u32' }],
    workgroupSize: [256],
    helpers: fp8Wgsl(format),
    main: `  ${FLAT_INDEX}
  if (i * 4u >= u.n) { return; }
  let s = scale[0];
  var word = 0u;
  for (var k = 0u; k < 4u; k++) {
    let e = i * 4u + k;
    if (e < u.n) { word |= ${format}_encode(xs[e] * s, ${saturate}) << (k * 8u); }
  }
  out[i] = word;`,
  };
}
