/**
 * The one WGSL snippet for FP8 (and the f16 rounding of RoundTo): decode and round-to-nearest-even
 * encode of a minifloat format, generated per format from core's format table. The encoder is core's
 * `encodeNearestEven8` arithmetic (dtypes/minifloat.ts) with its per-exponent tables computed inline,
 * so its codes are bit-exact with `fp8.encode`; the decoder builds each value's f32 bits directly.
 */
import { F16_FORMAT, type FloatFormatInfo, FP8_FORMATS, type Fp8Format } from '@octet/core';

function hex(n: number): string {
  return `0x${n.toString(16)}u`;
}

/** Which codes are NaN, as a WGSL boolean expression of `c` (the code without nothing removed). */
function nanTest(format: Fp8Format | 'f16'): string {
  switch (format) {
    case 'e4m3fn':
      return '(c & 0x7fu) == 0x7fu';
    case 'e5m2':
      return '(c & 0x7fu) > 0x7cu';
    case 'f16':
      return '(c & 0x7fffu) > 0x7c00u';
    default:
      return 'c == 0x80u';
  }
}

/**
 * WGSL functions `<name>_decode(c: u32) -> f32` and `<name>_encode(x: f32, saturate: bool) -> u32`
 * for a signed minifloat of at most 16 bits.
 */
export function minifloatWgsl(name: string, info: FloatFormatInfo, format: Fp8Format | 'f16'): string {
  const m = info.mantissaBits;
  const bits = info.bits;
  const signBit = 1 << (bits - 1);
  const absMask = signBit - 1;
  const expMask = (1 << info.exponentBits) - 1;
  const minNormalExponent = 1 - info.bias;
  const overflowCode = info.infinityCode ?? info.nanCode;
  // Subnormal values are mantissa × 2^(1 - bias - m); that power of two as f32 bits.
  const subnormalUnitBits = (1 - info.bias - m + 127) << 23;
  const negativeZeroMask = info.hasNegativeZero ? signBit : 0;
  const infinity =
    info.infinityCode === null
      ? ''
      : `  if ((c & ${hex(absMask)}) == ${hex(info.infinityCode)}) { return bitcast<f32>(sign | 0x7f800000u); }\n`;
  return `
fn ${name}_decode(c: u32) -> f32 {
  let sign = (c & ${hex(signBit)}) << ${32 - bits}u;
  if (${nanTest(format)}) { return bitcast<f32>(sign | 0x7fc00000u); }
${infinity}  let e = (c >> ${m}u) & ${hex(expMask)};
  let mant = c & ${hex((1 << m) - 1)};
  if (e == 0u) {
    let magnitude = f32(mant) * bitcast<f32>(${hex(subnormalUnitBits)});
    return bitcast<f32>(sign | bitcast<u32>(magnitude));
  }
  return bitcast<f32>(sign | ((e + ${127 - info.bias}u) << 23u) | (mant << ${23 - m}u));
}

fn ${name}_encode(x: f32, saturate: bool) -> u32 {
  let u = bitcast<u32>(x);
  let abs = u & 0x7fffffffu;
  // f32 subnormals share the binade scale of biased exponent 1.
  let exponent = i32(max(abs >> 23u, 1u)) - 127;
  let extra = u32(max(0, ${minNormalExponent} - exponent));
  let shift = min(${23 - m}u + extra, 31u);
  var offset = 0u;
  if (extra == 0u) { offset = u32(exponent + ${info.bias - 1}) << ${m}u; }
  let significand = (abs & 0x7fffffu) | 0x800000u;
  let halfMinusOne = (1u << (shift - 1u)) - 1u;
  var code = ((significand + halfMinusOne + ((significand >> shift) & 1u)) >> shift) + offset;
  if (code > ${hex(info.maxCode)}) { code = select(${hex(overflowCode)}, ${hex(info.maxCode)}, saturate); }
  if (abs > 0x7f800000u) { code = ${hex(info.nanCode)}; }
  let sign = (u >> ${32 - bits}u) & ${hex(signBit)};
  return code | (sign & ((code + ${hex(absMask)}) | ${hex(negativeZeroMask)}));
}
`;
}

/** The FP8 snippet of `format`: `<format>_decode` and `<format>_encode`. */
export function fp8Wgsl(format: Fp8Format): string {
  return minifloatWgsl(format, FP8_FORMATS[format], format);
}

/** f16 rounding for RoundTo: `f16_decode` and `f16_encode` (overflow → ±inf). */
export function f16Wgsl(): string {
  return minifloatWgsl('f16', F16_FORMAT, 'f16');
}

/** WGSL: the byte `e` of a packed uint8 array `name` (four codes per u32, little-endian). */
export function packedByte(name: string, e: string): string {
  return `((${name}[(${e}) >> 2u] >> (((${e}) & 3u) * 8u)) & 0xffu)`;
}
