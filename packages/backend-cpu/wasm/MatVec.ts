// AssemblyScript: matrix × vector, the WASM SIMD kernels for A with few rows (the decode of one
// token) of kernels/MatMul.ts and kernels/ScaledMatMul.ts. Each weight is used once per row, so
// the codes are decoded in registers right where they are multiplied, 16 at a time. Operands as in
// MatMul.ts (the GEMM).
//
// FP8 codes decode by arithmetic: the sign-extended code shifted left puts the exponent and
// mantissa bits just below the f32 sign (the sign bit lands there too once the rest of the
// extension is masked off). That f32 is the code's value times 2^(bias − 127), subnormal codes
// included (they become f32 subnormals). The missing 2^(127 − bias) is not multiplied in per
// element: the caller scales x by a power of two so the products stay normal and folds the rest
// into `post`, the factor each sum is multiplied by. Codes that are NaN or infinity have no such
// image: operands holding them take the exact table path (see `hasSpecialCodes`).
//
// Subnormal f32 operands cost x86 a microcode assist per multiply (WASM may not flush them to
// zero): the cpu-kernels bench's 4096² matrix × vector (1.5% of its codes subnormal) took 3.31 ms
// before the rewrite, 1.56–2.15 ms after. So a weight is rewritten once
// (`rewriteSubnormalCodes`): each subnormal code gets exponent field 1, keeping
// its mantissa, which makes its f32 image normal and exactly 2^-126 larger in magnitude; a list of
// where they were (`fixups`) lets each sum take 2^-126 · x[k] back per rewritten code.

import { element, madd } from './MatMul';


/** Bits of 4 codes (sign-extended to i32 lanes) as f32: the value times 2^(bias − 127). */
@inline
function bits4(codes: v128, shift: i32): v128 {
  // shift 20: 3 mantissa bits (e4m3fn, e4m3fnuz); 21: 2 (e5m2, e5m2fnuz). A constant after inlining.
  return v128.and(i32x4.shl(codes, shift), i32x4.splat(shift === 20 ? 0x87f00000 : 0x8fe00000));
}

/** True when any of the n codes is NaN or infinite in `format` (those decode through the table). */
export function hasSpecialCodes(src: usize, n: i32, format: i32): bool {
  // A code is special when (code & maskByte) === valueByte: e4m3fn 0x7f (NaN); e5m2 exponent all ones; fnuz 0x80 (NaN).
  const maskByte: i32 = format === 1 ? 0x7f : format === 2 ? 0x7c : 0xff;
  const valueByte: i32 = format === 1 ? 0x7f : format === 2 ? 0x7c : 0x80;
  const masks = i8x16.splat(<i8>maskByte);
  const values = i8x16.splat(<i8>valueByte);
  const n16 = n & ~15;
  for (let i = 0; i < n16; i += 16) {
    if (v128.any_true(i8x16.eq(v128.and(v128.load(src + <usize>i), masks), values))) return true;
  }
  for (let i = n16; i < n; i++) {
    if ((<i32>load<u8>(src + <usize>i) & maskByte) === valueByte) return true;
  }
  return false;
}

/** Bit i set when code i of these 16 is subnormal: magnitude from 1 to the mantissa's all-ones. */
@inline
function subnormalBits(codes: v128, format: i32): i32 {
  const magnitudes = v128.and(codes, i8x16.splat(0x7f));
  const largest: i32 = format === 1 || format === 3 ? 7 : 3;
  return i8x16.bitmask(i8x16.lt_u(i8x16.sub(magnitudes, i8x16.splat(1)), i8x16.splat(<i8>largest)));
}

@inline
function isSubnormal(code: i32, format: i32): bool {
  return <u32>((code & 0x7f) - 1) < <u32>(format === 1 || format === 3 ? 7 : 3);
}

/** How many of the n codes are subnormal in `format`. */
export function countSubnormalCodes(src: usize, n: i32, format: i32): i32 {
  let count = 0;
  const n16 = n & ~15;
  for (let i = 0; i < n16; i += 16) count += popcnt(subnormalBits(v128.load(src + <usize>i), format));
  for (let i = n16; i < n; i++) if (isSubnormal(load<u8>(src + <usize>i), format)) count++;
  return count;
}

/**
 * Rewrites the subnormal codes of B (N × K when `kContig`, else K × N) as described above and lists
 * them by row of B: `fixups` holds starts (N + 1 i32: row n's entries are starts[n] … starts[n + 1])
 * then the entries, k | sign << 31, as many as `countSubnormalCodes` found.
 */
export function rewriteSubnormalCodes(b: usize, format: i32, kContig: bool, N: i32, K: i32, fixups: usize): void {
  memory.fill(fixups, 0, (<usize>N + 1) << 2);
  visitSubnormals(b, format, kContig, N, K, fixups, false); // counts of row n in starts[n + 1]
  for (let n = 0; n < N; n++) {
    const at = fixups + ((<usize>n + 1) << 2);
    store<i32>(at, load<i32>(at) + load<i32>(at - 4));
  }
  visitSubnormals(b, format, kContig, N, K, fixups, true); // starts[n] ends where row n + 1 starts
  for (let n = N; n > 0; n--) store<i32>(fixups + (<usize>n << 2), load<i32>(fixups + ((<usize>n - 1) << 2)));
  store<i32>(fixups, 0);
}

/** Counts (`fill` false) or lists and rewrites (`fill`) the subnormal codes, 16 codes per test. */
function visitSubnormals(b: usize, format: i32, kContig: bool, N: i32, K: i32, fixups: usize, fill: bool): void {
  const total = N * K;
  const entries = fixups + ((<usize>N + 1) << 2);
  const exponentOne: i32 = format === 1 || format === 3 ? 0x08 : 0x04;
  for (let i = 0; i < total; i += 16) {
    let bits = i + 16 <= total ? subnormalBits(v128.load(b + <usize>i), format) : 0;
    if (i + 16 > total) for (let j = i; j < total; j++) if (isSubnormal(load<u8>(b + <usize>j), format)) bits |= 1 << (j - i);
    for (; bits !== 0; bits &= bits - 1) {
      const at = i + ctz(bits);
      const n = kContig ? at / K : at % N;
      const k = kContig ? at % K : at / N;
      const start = fixups + ((<usize>n + <usize>(fill ? 0 : 1)) << 2);
      const slot = load<i32>(start);
      store<i32>(start, slot + 1);
      if (!fill) continue;
      const code = <i32>load<u8>(b + <usize>at);
      store<i32>(entries + (<usize>slot << 2), k | ((code & 0x80) << 24));
      store<u8>(b + <usize>at, <u8>(code | exponentOne));
    }
  }
}

/** What row n's sum takes back for its rewritten codes: 2^-126 · Σ ∓x[k] (see above); 0 without fixups. */
@inline
function subnormalFixup(x: usize, fixups: usize, N: i32, n: i32): f32 {
  if (fixups === 0) return 0;
  const entries = fixups + ((<usize>N + 1) << 2);
  const end = load<i32>(fixups + ((<usize>n + 1) << 2));
  let sum: f32 = 0;
  for (let j = load<i32>(fixups + (<usize>n << 2)); j < end; j++) {
    const entry = load<i32>(entries + (<usize>j << 2));
    const xk = load<i32>(x + (<usize>(entry & 0x7fffffff) << 2));
    sum -= reinterpret<f32>(xk ^ (entry & 0x80000000)); // the code's sign on x, without a branch to mispredict
  }
  return sum * reinterpret<f32>(0x00800000);
}

/** Σ_k x[k] · w[k] over k < K16 (a multiple of 16) for one row of codes, decoded in registers. */
@inline
function dotCodes(x: usize, w: usize, k16: i32, shift: i32): v128 {
  let acc0 = f32x4.splat(0),
    acc1 = f32x4.splat(0),
    acc2 = f32x4.splat(0),
    acc3 = f32x4.splat(0);
  for (let k = 0; k < k16; k += 16) {
    const xp = x + (<usize>k << 2);
    const codes = v128.load(w + <usize>k);
    const lo = i16x8.extend_low_i8x16_s(codes);
    const hi = i16x8.extend_high_i8x16_s(codes);
    acc0 = madd(acc0, v128.load(xp), bits4(i32x4.extend_low_i16x8_s(lo), shift));
    acc1 = madd(acc1, v128.load(xp, 16), bits4(i32x4.extend_high_i16x8_s(lo), shift));
    acc2 = madd(acc2, v128.load(xp, 32), bits4(i32x4.extend_low_i16x8_s(hi), shift));
    acc3 = madd(acc3, v128.load(xp, 48), bits4(i32x4.extend_high_i16x8_s(hi), shift));
  }
  return f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3));
}

@inline
function dotF32(x: usize, w: usize, k16: i32): v128 {
  let acc0 = f32x4.splat(0),
    acc1 = f32x4.splat(0),
    acc2 = f32x4.splat(0),
    acc3 = f32x4.splat(0);
  for (let k = 0; k < k16; k += 16) {
    const xp = x + (<usize>k << 2);
    const wp = w + (<usize>k << 2);
    acc0 = madd(acc0, v128.load(xp), v128.load(wp));
    acc1 = madd(acc1, v128.load(xp, 16), v128.load(wp, 16));
    acc2 = madd(acc2, v128.load(xp, 32), v128.load(wp, 32));
    acc3 = madd(acc3, v128.load(xp, 48), v128.load(wp, 48));
  }
  return f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3));
}

/** The value of element `index` in the units the SIMD paths sum in (see above): f32 as is, codes as their bits. */
@inline
function unitValue(src: usize, format: i32, index: i32, tables: usize, useTable: bool): f32 {
  if (format === 0 || useTable) return element(src, format, index, tables);
  const code = <i32>load<i8>(src + <usize>index);
  return reinterpret<f32>(format === 1 || format === 3 ? (code << 20) & 0x87f00000 : (code << 21) & 0x8fe00000);
}

/** The sum of a vector's four lanes, pairwise as the single-row path adds them. */
@inline
function lanes(acc: v128): f32 {
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

/**
 * Four rows of x (x0…x3) against one row of B at once, each group of codes decoded once for all
 * four: out[r] = Σ_k x_r[k] · w[k] over k < K16. One accumulator per row, four madds into it per step.
 */
@inline
function dot4Rows(x0: usize, x1: usize, x2: usize, x3: usize, w: usize, k16: i32, format: i32, out: usize): void {
  const shift = format === 1 || format === 3 ? 20 : 21;
  let acc0 = f32x4.splat(0),
    acc1 = f32x4.splat(0),
    acc2 = f32x4.splat(0),
    acc3 = f32x4.splat(0);
  for (let k = 0; k < k16; k += 16) {
    let w0: v128, w1: v128, w2: v128, w3: v128;
    if (format === 0) {
      const wp = w + (<usize>k << 2);
      w0 = v128.load(wp);
      w1 = v128.load(wp, 16);
      w2 = v128.load(wp, 32);
      w3 = v128.load(wp, 48);
    } else {
      const codes = v128.load(w + <usize>k);
      const lo = i16x8.extend_low_i8x16_s(codes);
      const hi = i16x8.extend_high_i8x16_s(codes);
      w0 = bits4(i32x4.extend_low_i16x8_s(lo), shift);
      w1 = bits4(i32x4.extend_high_i16x8_s(lo), shift);
      w2 = bits4(i32x4.extend_low_i16x8_s(hi), shift);
      w3 = bits4(i32x4.extend_high_i16x8_s(hi), shift);
    }
    const at = <usize>k << 2;
    const p0 = x0 + at;
    const p1 = x1 + at;
    const p2 = x2 + at;
    const p3 = x3 + at;
    acc0 = madd(madd(madd(madd(acc0, v128.load(p0), w0), v128.load(p0, 16), w1), v128.load(p0, 32), w2), v128.load(p0, 48), w3);
    acc1 = madd(madd(madd(madd(acc1, v128.load(p1), w0), v128.load(p1, 16), w1), v128.load(p1, 32), w2), v128.load(p1, 48), w3);
    acc2 = madd(madd(madd(madd(acc2, v128.load(p2), w0), v128.load(p2, 16), w1), v128.load(p2, 32), w2), v128.load(p2, 48), w3);
    acc3 = madd(madd(madd(madd(acc3, v128.load(p3), w0), v128.load(p3, 16), w1), v128.load(p3, 32), w2), v128.load(p3, 48), w3);
  }
  store<f32>(out, lanes(acc0));
  store<f32>(out, lanes(acc1), 4);
  store<f32>(out, lanes(acc2), 8);
  store<f32>(out, lanes(acc3), 12);
}

/** Row m of x (M rows of K), or its last row past the end. */
@inline
function xRow(x: usize, K: i32, m: i32, M: i32): usize {
  return x + ((<usize>min(m, M - 1) * <usize>K) << 2);
}

/**
 * C[m, n0:n1] = (Σ_k x[m·K + k] · B[n, k]) · post · scale for every m < M, with B stored N × K
 * (the weights of a linear layer). x is f32; B is f32 or codes (in units of 2^(bias − 127) unless
 * `useTable`, which decodes exactly through the table). Rows of x go four at a time (a last group
 * of two or three repeats its last row), so each weight is read and decoded once per four rows; a
 * single row goes alone. `fixups` is 0, or the list `rewriteSubnormalCodes` made when it rewrote B.
 */
export function matvecRows(
  x: usize,
  M: i32,
  b: usize,
  format: i32,
  c: usize,
  N: i32,
  K: i32,
  n0: i32,
  n1: i32,
  post: f32,
  scale: f32,
  tables: usize,
  useTable: bool,
  fixups: usize,
  scratch: usize,
): void {
  const k16 = useTable ? 0 : K & ~15;
  const elementBytes: usize = format === 0 ? 4 : 1;
  let m = 0;
  for (; M - m >= 2; m += 4) {
    const rows = min(4, M - m);
    for (let n = n0; n < n1; n++) {
      dot4Rows(xRow(x, K, m, M), xRow(x, K, m + 1, M), xRow(x, K, m + 2, M), xRow(x, K, m + 3, M), b + <usize>n * <usize>K * elementBytes, k16, format, scratch);
      for (let r = 0; r < rows; r++) {
        const xr = xRow(x, K, m + r, M);
        let sum = load<f32>(scratch + (<usize>r << 2));
        const base = n * K;
        for (let k = k16; k < K; k++) sum += load<f32>(xr + (<usize>k << 2)) * unitValue(b, format, base + k, tables, useTable);
        sum += subnormalFixup(xr, fixups, N, n);
        store<f32>(c + ((<usize>(m + r) * <usize>N + <usize>n) << 2), sum * post * scale);
      }
    }
  }
  for (; m < M; m++) {
    const xm = x + ((<usize>m * <usize>K) << 2);
    for (let n = n0; n < n1; n++) {
      let acc: v128;
      if (format === 0) acc = dotF32(xm, b + ((<usize>n * <usize>K) << 2), k16);
      else if (format === 1 || format === 3) acc = dotCodes(xm, b + <usize>n * <usize>K, k16, 20);
      else acc = dotCodes(xm, b + <usize>n * <usize>K, k16, 21);
      let sum: f32 = lanes(acc);
      const base = n * K;
      for (let k = k16; k < K; k++) sum += load<f32>(xm + (<usize>k << 2)) * unitValue(b, format, base + k, tables, useTable);
      sum += subnormalFixup(xm, fixups, N, n);
      store<f32>(c + ((<usize>m * <usize>N + <usize>n) << 2), sum * post * scale);
    }
  }
}

/** out[0:16] = Σ_k x[k] · B[k, 0:16] over the K rows of codes (N apart), decoded in registers. */
@inline
function axpyCodes(x: usize, w: usize, K: i32, N: i32, out: usize, post: v128, scale: v128, shift: i32): void {
  let acc0 = f32x4.splat(0),
    acc1 = f32x4.splat(0),
    acc2 = f32x4.splat(0),
    acc3 = f32x4.splat(0);
  for (let k = 0; k < K; k++, w += <usize>N) {
    const xs = v128.load32_splat(x + (<usize>k << 2));
    const codes = v128.load(w);
    const lo = i16x8.extend_low_i8x16_s(codes);
    const hi = i16x8.extend_high_i8x16_s(codes);
    acc0 = madd(acc0, xs, bits4(i32x4.extend_low_i16x8_s(lo), shift));
    acc1 = madd(acc1, xs, bits4(i32x4.extend_high_i16x8_s(lo), shift));
    acc2 = madd(acc2, xs, bits4(i32x4.extend_low_i16x8_s(hi), shift));
    acc3 = madd(acc3, xs, bits4(i32x4.extend_high_i16x8_s(hi), shift));
  }
  v128.store(out, f32x4.mul(f32x4.mul(acc0, post), scale));
  v128.store(out, f32x4.mul(f32x4.mul(acc1, post), scale), 16);
  v128.store(out, f32x4.mul(f32x4.mul(acc2, post), scale), 32);
  v128.store(out, f32x4.mul(f32x4.mul(acc3, post), scale), 48);
}

@inline
function axpyF32(x: usize, w: usize, K: i32, N: i32, out: usize, post: v128, scale: v128): void {
  let acc0 = f32x4.splat(0),
    acc1 = f32x4.splat(0),
    acc2 = f32x4.splat(0),
    acc3 = f32x4.splat(0);
  const stride = <usize>N << 2;
  for (let k = 0; k < K; k++, w += stride) {
    const xs = v128.load32_splat(x + (<usize>k << 2));
    acc0 = madd(acc0, xs, v128.load(w));
    acc1 = madd(acc1, xs, v128.load(w, 16));
    acc2 = madd(acc2, xs, v128.load(w, 32));
    acc3 = madd(acc3, xs, v128.load(w, 48));
  }
  v128.store(out, f32x4.mul(f32x4.mul(acc0, post), scale));
  v128.store(out, f32x4.mul(f32x4.mul(acc1, post), scale), 16);
  v128.store(out, f32x4.mul(f32x4.mul(acc2, post), scale), 32);
  v128.store(out, f32x4.mul(f32x4.mul(acc3, post), scale), 48);
}

/**
 * C[m, n0:n1] = (Σ_k x[m·K + k] · B[k, n]) · post · scale for every m < M, with B stored K × N (the
 * activation-gradient product of a linear layer, or attention's probabilities × values);
 * otherwise as `matvecRows`.
 */
export function matvecCols(
  x: usize,
  M: i32,
  b: usize,
  format: i32,
  c: usize,
  N: i32,
  K: i32,
  n0: i32,
  n1: i32,
  post: f32,
  scale: f32,
  tables: usize,
  useTable: bool,
  fixups: usize,
): void {
  const posts = f32x4.splat(post);
  const scales = f32x4.splat(scale);
  const n16 = useTable ? n0 : n0 + ((n1 - n0) & ~15);
  for (let m = 0; m < M; m++) {
    const xm = x + ((<usize>m * <usize>K) << 2);
    const cm = c + ((<usize>m * <usize>N) << 2);
    for (let n = n0; n < n16; n += 16) {
      const out = cm + (<usize>n << 2);
      if (format === 0) axpyF32(xm, b + (<usize>n << 2), K, N, out, posts, scales);
      else if (format === 1 || format === 3) axpyCodes(xm, b + <usize>n, K, N, out, posts, scales, 20);
      else axpyCodes(xm, b + <usize>n, K, N, out, posts, scales, 21);
    }
    if (fixups !== 0) {
      for (let n = n0; n < n16; n++) {
        const at = cm + (<usize>n << 2);
        store<f32>(at, load<f32>(at) + subnormalFixup(xm, fixups, N, n) * post * scale);
      }
    }
    for (let n = n16; n < n1; n++) {
      let sum: f32 = 0;
      for (let k = 0; k < K; k++) sum += load<f32>(xm + (<usize>k << 2)) * unitValue(b, format, k * N + n, tables, useTable);
      sum += subnormalFixup(xm, fixups, N, n);
      store<f32>(cm + (<usize>n << 2), sum * post * scale);
    }
  }
}
