import { FLAT_INDEX, type Program } from '../program.js';

export function oneHotProgram(): Program {
  return {
    key: 'OneHot',
    inputs: [{ name: 'ids', type: 'i32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'depth', type: 'u32' },
    ],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = select(0.0, 1.0, ids[i / u.depth] == i32(i % u.depth));`,
  };
}
