import type { DType } from '@octet/core';
import { ELEMENTWISE_WORKGROUP, type Program } from '../program.js';
import { packedByte } from '../shaders/fp8.wgsl.js';
import { movementMain } from '../shaders/movement.wgsl.js';

/** Inputs one pass concatenates (with the output, within the 8 storage buffers every adapter allows). */
export const CONCAT_INPUTS_PER_PASS = 6;

/**
 * Concatenation seen as rows: output row r is the row r of each input side by side. `inner{t}` is the
 * row length of input t and `offset{t}` where it starts in the output row.
 */
export function concatProgram(count: number, dtype: DType): Program {
  const packed = dtype === 'uint8';
  const inputs = [...Array(count).keys()];
  const read = (t: number, index: string) => (packed ? packedByte(`x${t}`, index) : `x${t}[${index}]`);
  const fetch = `fn fetch(o: u32) -> u32 {
  let row = o / u.outInner;
  let col = o % u.outInner;
${inputs
  .slice(1)
  .reverse()
  .map((t) => `  if (col >= u.offset${t}) { return ${read(t, `row * u.inner${t} + col - u.offset${t}`)}; }`)
  .join('\n')}
  return ${read(0, 'row * u.inner0 + col')};
}`;
  return {
    key: `Concat:${count}:${packed ? 'bytes' : 'words'}`,
    inputs: inputs.map((t) => ({ name: `x${t}`, type: 'u32' as const })),
    output: { name: 'out', type: 'u32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'outInner', type: 'u32' },
      ...inputs.flatMap((t) => [
        { name: `inner${t}`, type: 'u32' as const },
        { name: `offset${t}`, type: 'u32' as const },
      ]),
    ],
    workgroupSize: [ELEMENTWISE_WORKGROUP],
    helpers: fetch,
    main: movementMain(packed, (o) => `fetch(${o})`),
  };
}
