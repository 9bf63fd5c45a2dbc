import { FLAT_INDEX, type Program } from '../program.js';

export function affineProgram(): Program {
  return {
    key: 'Affine',
    inputs: [{ name: 'xs', type: 'f32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      { name: 'scale', type: 'f32' },
      { name: 'shift', type: 'f32' },
    ],
    workgroupSize: [256],
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = xs[i] * u.scale + u.shift;`,
  };
}
