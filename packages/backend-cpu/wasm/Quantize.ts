// AssemblyScript: FP8 quantization, q = fp8(x · scale), rounding to nearest even, with the codes
// of core's codec. Sixteen values at a time by arithmetic (below); the last few through core's
// round-to-nearest-even table (fp8.encodeTable, copied into the memory), which holds the same codes.
//
// The arithmetic: |v| is rounded to a multiple of its FP8 unit u (2^(e − M) for exponent e, or the
// subnormal unit below the smallest normal) by the f32 unit itself: (|v| + 1.5·2^23·u) − 1.5·2^23·u
// rounds at u, ties to even, as |v| is far smaller than that magic number. The rounded value's bits,
// shifted, are the code of a normal result; a subnormal one is the rounded value over its unit. Then
// overflow (anything from 2^(emax + 1) on, or a code past the largest), NaN and the sign follow
// core's rule (dtypes/minifloat.ts, encodeNearestEven8).

/** The table slot of f32 bits u: the top 16 bits, then whether any of the low 16 is set. */
@inline
function slot(u: u32): u32 {
  return ((u >>> 15) & 0x1fffe) | (((u & 0xffff) + 0xffff) >>> 16);
}

/** Codes of four f32 values (bits in `u`) in i32 lanes. */
@inline
function encode4(
  u: v128,
  mantissaBits: i32,
  minNormalField: i32,
  normalOffset: i32,
  subnormalScale: f32,
  overflowField: i32,
  maxCode: i32,
  overflowCode: i32,
  nanCode: i32,
  negativeZeroMask: i32,
): v128 {
  const abs = v128.and(u, i32x4.splat(0x7fffffff));
  const field = i32x4.shr_u(abs, 23);
  // The unit's exponent field, and the magic number 1.5 · 2^23 · unit.
  const unit = i32x4.sub(i32x4.max_s(field, i32x4.splat(minNormalField)), i32x4.splat(mantissaBits));
  const magic = v128.or(i32x4.shl(i32x4.add(unit, i32x4.splat(23)), 23), i32x4.splat(0x400000));
  const rounded = f32x4.sub(f32x4.add(abs, magic), magic);
  const normal = i32x4.sub(i32x4.shr_u(rounded, 23 - mantissaBits), i32x4.splat(normalOffset));
  // rounded / unit is a whole number under 2^M: added to 2^23, it is the low bits of the sum.
  const subnormal = i32x4.sub(f32x4.add(f32x4.mul(rounded, f32x4.splat(subnormalScale)), f32x4.splat(8388608)), i32x4.splat(0x4b000000));
  let code = v128.bitselect(subnormal, normal, i32x4.lt_s(rounded, i32x4.splat(minNormalField << 23)));
  const over = v128.or(i32x4.gt_s(code, i32x4.splat(maxCode)), i32x4.ge_s(field, i32x4.splat(overflowField)));
  code = v128.bitselect(i32x4.splat(overflowCode), code, over);
  code = v128.bitselect(i32x4.splat(nanCode), code, i32x4.gt_s(abs, i32x4.splat(0x7f800000)));
  const sign = v128.and(i32x4.shr_u(u, 24), i32x4.splat(0x80));
  return v128.or(code, v128.and(sign, v128.or(i32x4.add(code, i32x4.splat(0x7f)), i32x4.splat(negativeZeroMask))));
}

@inline
function load4(x: usize, i: i32, scale: f32, scaled: bool): v128 {
  const v = v128.load(x + (<usize>i << 2));
  return scaled ? f32x4.mul(v, f32x4.splat(scale)) : v;
}

/** Codes of x[i … i + 16) · scale (or x itself unless `scaled`) to out[i …]. */
@inline
function encode16(
  x: usize,
  i: i32,
  scale: f32,
  scaled: bool,
  out: usize,
  mantissaBits: i32,
  minNormalField: i32,
  normalOffset: i32,
  subnormalScale: f32,
  overflowField: i32,
  maxCode: i32,
  overflowCode: i32,
  nanCode: i32,
  negativeZeroMask: i32,
): void {
  const c0 = encode4(load4(x, i, scale, scaled), mantissaBits, minNormalField, normalOffset, subnormalScale, overflowField, maxCode, overflowCode, nanCode, negativeZeroMask);
  const c1 = encode4(load4(x, i + 4, scale, scaled), mantissaBits, minNormalField, normalOffset, subnormalScale, overflowField, maxCode, overflowCode, nanCode, negativeZeroMask);
  const c2 = encode4(load4(x, i + 8, scale, scaled), mantissaBits, minNormalField, normalOffset, subnormalScale, overflowField, maxCode, overflowCode, nanCode, negativeZeroMask);
  const c3 = encode4(load4(x, i + 12, scale, scaled), mantissaBits, minNormalField, normalOffset, subnormalScale, overflowField, maxCode, overflowCode, nanCode, negativeZeroMask);
  v128.store(out + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(c0, c1), i16x8.narrow_i32x4_u(c2, c3)));
}

/**
 * out[i] = code of x[i] · scale (the product rounded to f32, as core's codec rounds it) for i < n.
 * The format: `mantissaBits`, `bias`, `maxExponent` (of its largest finite value), `maxCode`, and
 * core's rule for it (`overflowCode`, `nanCode`, `negativeZeroMask`); `table` its encode table.
 */
export function quantize(
  x: usize,
  n: i32,
  scale: f32,
  out: usize,
  mantissaBits: i32,
  bias: i32,
  maxExponent: i32,
  maxCode: i32,
  overflowCode: i32,
  nanCode: i32,
  negativeZeroMask: i32,
  table: usize,
): void {
  const minNormalField = 128 - bias; // f32 exponent field of 2^(1 − bias)
  const normalOffset = (127 - bias) << mantissaBits;
  const subnormalScale = reinterpret<f32>((127 + mantissaBits + bias - 1) << 23); // 2^(M − (1 − bias))
  const overflowField = 127 + maxExponent + 1;
  const n16 = n & ~15;
  // With scale 1 the bits go as they are (NaN signs untouched), as in core's codec.
  if (scale === 1) {
    for (let i = 0; i < n16; i += 16) {
      encode16(x, i, scale, false, out, mantissaBits, minNormalField, normalOffset, subnormalScale, overflowField, maxCode, overflowCode, nanCode, negativeZeroMask);
    }
  } else {
    for (let i = 0; i < n16; i += 16) {
      encode16(x, i, scale, true, out, mantissaBits, minNormalField, normalOffset, subnormalScale, overflowField, maxCode, overflowCode, nanCode, negativeZeroMask);
    }
  }
  for (let i = n16; i < n; i++) {
    let u = load<u32>(x + (<usize>i << 2));
    if (scale !== 1) u = reinterpret<u32>(reinterpret<f32>(u) * scale);
    store<u8>(out + <usize>i, load<u8>(table + <usize>slot(u)));
  }
}
