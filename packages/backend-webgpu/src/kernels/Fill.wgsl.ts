import { FLAT_INDEX, type Program } from '../program.js';

/** Writes the value's 32-bit pattern (f32 or i32) to every element. */
export function fillProgram(): Program {
  return {
    key: 'Fill',
    inputs: [],
    output: { name: 'out', type: 'u32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'bits', type: 'u32' },
    ],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = u.bits;`,
  };
}
