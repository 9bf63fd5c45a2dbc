import type { ScaleFromAmaxAttrs } from '@octet/core';
import type { Program } from '../program.js';
import { IS_NAN_WGSL } from '../shaders/nan.wgsl.js';

/**
 * TransformerEngine's scale update in one thread, in the reference's f32 steps. The division is
 * refined with one fma residual step, since WGSL allows 2.5 ulp for `/`.
 */
export function scaleFromAmaxProgram(reduce: ScaleFromAmaxAttrs['reduce'], powerOfTwo: boolean): Program {
  return {
    key: `ScaleFromAmax:${reduce}:${powerOfTwo ? 'pow2' : 'exact'}`,
    inputs: [{ name: 'history', type: 'f32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'length', type: 'u32' },
      { name: 'fp8Max', type: 'f32' },
      { name: 'marginFactor', type: 'f32' },
    ],
    workgroupSize: [1],
    helpers: `
${IS_NAN_WGSL}
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn divide(a: f32, b: f32) -> f32 {
  let q = a / b;
  if (!is_finite(q)) { return q; }
  return q + fma(-q, b, a) / b;
}`,
    main: `  if (gid.x != 0u) { return; }
  var amax = ${reduce === 'max' ? '0.0' : 'history[0]'};
${
  reduce === 'max'
    ? `  for (var i = 0u; i < u.length; i++) {
    let v = history[i];
    amax = select(amax, v, v > amax || is_nan(v));
  }`
    : ''
}
  var scale = 1.0;
  if (amax > 0.0 && is_finite(amax)) {
    var s = divide(u.fp8Max, amax) / u.marginFactor;
${powerOfTwo ? '    s = bitcast<f32>(bitcast<u32>(s) & 0xff800000u);' : ''}
    if (is_finite(s) && s != 0.0) { scale = s; }
  }
  out[0] = scale;`,
  };
}
