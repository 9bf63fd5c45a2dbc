import { FLAT_INDEX, type Program } from '../program.js';

export function geluGradProgram(): Program {
  return {
    key: 'GeluGrad',
    inputs: [
      { name: 'dys', type: 'f32' },
      { name: 'xs', type: 'f32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [{ name: 'n', type: 'u32' }],
    workgroupSize: [256],
    helpers: 'const C = 0.7978845608028654;',
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let v = xs[i];
  let t = tanh(C * (v + 0.044715 * v * v * v));
  out[i] = dys[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * C * (1.0 + 3.0 * 0.044715 * v * v));`,
  };
}
