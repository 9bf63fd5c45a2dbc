import { FLAT_INDEX, type Program } from '../program.js';

/**
 * One thread per element: its code from the packed words (as MapQuantize writes them), then
 * map[code], or NaN for a code past the map's end.
 */
export function mapDequantizeProgram(bits: 4 | 8): Program {
  const perWord = 32 / bits;
  return {
    key: `MapDequantize:${bits}`,
    inputs: [
      { name: 'codes', type: 'u32' },
      { name: 'map', type: 'f32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'entries', type: 'u32' },
    ],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let code = (codes[i / ${perWord}u] >> ((i % ${perWord}u) * ${bits}u)) & ${(1 << bits) - 1}u;
  // The NaN's bits depend on a runtime value: a constant NaN is a shader-creation error in WGSL.
  let nan = bitcast<f32>(0x7fc00000u | (code & 0u));
  out[i] = select(nan, map[min(code, u.entries - 1u)], code < u.entries);`,
  };
}
