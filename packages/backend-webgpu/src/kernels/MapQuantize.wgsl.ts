import { FLAT_INDEX, type Program } from '../program.js';
import { IS_NAN_WGSL } from '../shaders/nan.wgsl.js';

/**
 * One thread per output word: 32 / bits codes, code e at bits (e mod 32/bits) · bits, so 8-bit codes
 * are the packed bytes and 4-bit codes the low then high nibble of each byte. A code is the number of
 * midpoints t_j = (map[j] + map[j + 1]) · 0.5 below x, by binary search; f32 + and · are correctly
 * rounded, so t_j is the contract's exactly.
 */
export function mapQuantizeProgram(bits: 4 | 8): Program {
  const perWord = 32 / bits;
  return {
    key: `MapQuantize:${bits}`,
    inputs: [
      { name: 'xs', type: 'f32' },
      { name: 'map', type: 'f32' },
    ],
    output: { name: 'out', type: 'u32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'entries', type: 'u32' },
    ],
    workgroupSize: [256],
    helpers: `
${IS_NAN_WGSL}
fn code_of(x: f32) -> u32 {
  // Tested on the bits: a compiler that assumes no NaN could turn the search's compare around.
  if (is_nan(x)) { return 0u; }
  var lo = 0u;
  var hi = u.entries - 1u;
  // Invariant: t_j < x for j < lo, and not for j >= hi.
  while (lo < hi) {
    let mid = (lo + hi) >> 1u;
    if ((map[mid] + map[mid + 1u]) * 0.5 < x) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}`,
    main: `  ${FLAT_INDEX}
  if (i * ${perWord}u >= u.n) { return; }
  var word = 0u;
  for (var k = 0u; k < ${perWord}u; k++) {
    let e = i * ${perWord}u + k;
    if (e < u.n) { word |= code_of(xs[e]) << (k * ${bits}u); }
  }
  out[i] = word;`,
  };
}
