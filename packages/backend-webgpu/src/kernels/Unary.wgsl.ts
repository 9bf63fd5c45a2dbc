import type { UnaryOp } from '@octet/core';
import { FLAT_INDEX, type Program } from '../program.js';

/** GELU (tanh approximation) and its pieces, shared with GeluGrad. */
export const GELU_WGSL = `
const SQRT_2_OVER_PI = 0.7978845608028654;
fn gelu(x: f32) -> f32 { return 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
`;

const EXPRESSIONS: Record<UnaryOp, string> = {
  neg: '-x',
  exp: 'exp(x)',
  log: 'log(x)',
  sqrt: 'sqrt(x)',
  rsqrt: '1.0 / sqrt(x)',
  tanh: 'tanh(x)',
  sigmoid: '1.0 / (1.0 + exp(-x))',
  relu: 'select(0.0, x, x > 0.0)',
  gelu: 'gelu(x)',
  square: 'x * x',
  abs: 'abs(x)',
  reciprocal: '1.0 / x',
  sign: 'sign(x)',
  step: 'select(0.0, 1.0, x > 0.0)',
};

export function unaryProgram(op: UnaryOp): Program {
  return {
    key: `Unary:${op}`,
    inputs: [{ name: 'xs', type: 'f32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [{ name: 'n', type: 'u32' }],
    workgroupSize: [256],
    helpers: op === 'gelu' ? GELU_WGSL : '',
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let x = xs[i];
  out[i] = ${EXPRESSIONS[op]};`,
  };
}
