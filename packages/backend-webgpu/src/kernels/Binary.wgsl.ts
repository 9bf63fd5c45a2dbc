import type { BinaryOp } from '@octet/core';
import { FLAT_INDEX, type Program } from '../program.js';
import { IS_NAN_WGSL } from '../shaders/nan.wgsl.js';

const EXPRESSIONS: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  // NaN in `a` wins, as in the reference.
  maximum: 'select(b, a, a > b || is_nan(a))',
  minimum: 'select(b, a, a < b || is_nan(a))',
  pow: 'power(a, b)',
};

/** Math.pow's rules where WGSL's pow is undefined: x^0 = 1, and negative bases with integer exponents. */
const POW_WGSL = `
fn power(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a < 0.0 && fract(b) == 0.0) {
    let magnitude = pow(-a, b);
    return select(magnitude, -magnitude, fract(b * 0.5) != 0.0);
  }
  return pow(a, b);
}
`;

/**
 * Broadcasting binary op over an output of rank `rank`: uniforms hold the output shape and each
 * operand's element strides along it (0 on broadcast axes).
 */
export function binaryProgram(op: BinaryOp, rank: number): Program {
  const axes = [...Array(rank).keys()].reverse();
  return {
    key: `Binary:${op}:rank${rank}`,
    inputs: [
      { name: 'lhs', type: 'f32' },
      { name: 'rhs', type: 'f32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'n', type: 'u32' },
      ...axes.flatMap((d) => [
        { name: `shape${d}`, type: 'u32' as const },
        { name: `aStride${d}`, type: 'u32' as const },
        { name: `bStride${d}`, type: 'u32' as const },
      ]),
    ],
    workgroupSize: [256],
    helpers: op === 'pow' ? POW_WGSL : IS_NAN_WGSL,
    main: `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
${axes.map((d) => `  { let c = rest % u.shape${d}; rest = rest / u.shape${d}; ia += c * u.aStride${d}; ib += c * u.bStride${d}; }`).join('\n')}
  let a = lhs[ia];
  let b = rhs[ib];
  out[i] = ${EXPRESSIONS[op]};`,
  };
}
