// AssemblyScript: the WASM SIMD twin of kernels/MatMul.ts and kernels/ScaledMatMul.ts.
//
// Operands live in the (shared) linear memory; every function works on one output tile, so the
// TypeScript side can hand tiles to threads. An operand is f32 (format 0) or FP8 codes (format
// 1 … 4, decoded through the 256-entry f32 table at `tables + (format − 1) · 1024`), and is stored
// with the reduction axis contiguous (rows × K, `kContig`) or not (K × rows).
//
// GEMM (this file): the classic packed scheme. A K-block of B (KC × up to CB columns) is decoded into f32
// panels of 8 columns, a 4-row panel of A likewise, then a 4×8 register block of f32x4
// accumulators runs over the K-block. Decoding while packing puts the FP8 decode in the inner
// loop of the packing and amortizes it over every row of the tile.
//
// Matrix × vector (few rows of A) is in MatVec.ts.

/** Depth of one K-block: a packed 4-row panel of A (4 KiB) stays in L1, a B block in L2. */
const KC: i32 = 256;

@inline
export function element(src: usize, format: i32, index: i32, tables: usize): f32 {
  if (format === 0) return load<f32>(src + (<usize>index << 2));
  return load<f32>(tables + (<usize>(format - 1) << 10) + (<usize>load<u8>(src + <usize>index) << 2));
}

/** B rows n0 … n0+cols (zero beyond `cols`) and depths k0 … k0+kc into panels of 8: dst[(j·kc + k)·8 + c]. */
function packB(
  b: usize,
  format: i32,
  kContig: bool,
  N: i32,
  K: i32,
  n0: i32,
  cols: i32,
  k0: i32,
  kc: i32,
  dst: usize,
  tables: usize,
): void {
  const panels = (cols + 7) >> 3;
  for (let j = 0; j < panels; j++) {
    const panel = dst + ((<usize>j * <usize>kc) << 5);
    const width = min(8, cols - j * 8);
    if (kContig) {
      // Each column's depths are contiguous in B: walk them, writing with the panel's stride.
      for (let c = 0; c < 8; c++) {
        let out = panel + (<usize>c << 2);
        if (c >= width) {
          for (let k = 0; k < kc; k++, out += 32) store<f32>(out, 0);
          continue;
        }
        const base = (n0 + j * 8 + c) * K + k0;
        for (let k = 0; k < kc; k++, out += 32) store<f32>(out, element(b, format, base + k, tables));
      }
    } else {
      // A row of B holds the panel's columns side by side: copy 8 at a time (walking columns down
      // a power-of-two stride would keep evicting the same cache set).
      for (let k = 0; k < kc; k++) {
        const out = panel + (<usize>k << 5);
        const base = (k0 + k) * N + n0 + j * 8;
        for (let c = 0; c < 8; c++) store<f32>(out + (<usize>c << 2), c < width ? element(b, format, base + c, tables) : 0);
      }
    }
  }
}

/** A rows m0 … m0+4 (zero beyond `rows`) and depths k0 … k0+kc: dst[k·4 + r]. */
function packA(a: usize, format: i32, kContig: bool, M: i32, K: i32, m0: i32, rows: i32, k0: i32, kc: i32, dst: usize, tables: usize): void {
  if (kContig) {
    for (let r = 0; r < 4; r++) {
      let out = dst + (<usize>r << 2);
      if (r >= rows) {
        for (let k = 0; k < kc; k++, out += 16) store<f32>(out, 0);
        continue;
      }
      const base = (m0 + r) * K + k0;
      for (let k = 0; k < kc; k++, out += 16) store<f32>(out, element(a, format, base + k, tables));
    }
  } else {
    for (let k = 0; k < kc; k++) {
      const out = dst + (<usize>k << 4);
      const base = (k0 + k) * M + m0;
      for (let r = 0; r < 4; r++) store<f32>(out + (<usize>r << 2), r < rows ? element(a, format, base + r, tables) : 0);
    }
  }
}

/**
 * acc + x · y. The package builds these kernels twice (package.json): with relaxed SIMD this is one
 * fused multiply-add where the CPU has one (x86 FMA3, ARM), which halves the arithmetic
 * instructions of the GEMM's inner loop; without it, a multiply and an add.
 */
@inline
export function madd(acc: v128, x: v128, y: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(acc, f32x4.mul(x, y));
}

/** Writes (first K-block) or adds one 4-wide row segment of C; `cols` < 4 goes lane by lane. */
@inline
function put(c: usize, value: v128, cols: i32, first: bool): void {
  if (cols >= 4) {
    v128.store(c, first ? value : f32x4.add(v128.load(c), value));
    return;
  }
  for (let i = 0; i < cols; i++) {
    const lane = i === 0 ? f32x4.extract_lane(value, 0) : i === 1 ? f32x4.extract_lane(value, 1) : f32x4.extract_lane(value, 2);
    const at = c + (<usize>i << 2);
    store<f32>(at, first ? lane : load<f32>(at) + lane);
  }
}

@inline
function putRow(c: usize, lo: v128, hi: v128, cols: i32, first: bool): void {
  put(c, lo, cols, first);
  if (cols > 4) put(c + 16, hi, cols - 4, first);
}

/** C[4×8] (= or +=) Apanel · Bpanel over kc depths; only `rows` × `cols` of it are stored. */
function kernel4x8(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, first: bool): void {
  let c00 = f32x4.splat(0),
    c01 = f32x4.splat(0),
    c10 = f32x4.splat(0),
    c11 = f32x4.splat(0),
    c20 = f32x4.splat(0),
    c21 = f32x4.splat(0),
    c30 = f32x4.splat(0),
    c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(c00, a, b0);
    c01 = madd(c01, a, b1);
    a = v128.load32_splat(ap, 4);
    c10 = madd(c10, a, b0);
    c11 = madd(c11, a, b1);
    a = v128.load32_splat(ap, 8);
    c20 = madd(c20, a, b0);
    c21 = madd(c21, a, b1);
    a = v128.load32_splat(ap, 12);
    c30 = madd(c30, a, b0);
    c31 = madd(c31, a, b1);
    ap += 16;
    bp += 32;
  }
  const stride = <usize>ldc << 2;
  putRow(c, c00, c01, cols, first);
  if (rows > 1) putRow(c + stride, c10, c11, cols, first);
  if (rows > 2) putRow(c + 2 * stride, c20, c21, cols, first);
  if (rows > 3) putRow(c + 3 * stride, c30, c31, cols, first);
}

/**
 * C[1×32] (= or +=) row 0 of Apanel · four B panels (`kc` · 8 floats apart) over kc depths. A lone
 * row in the 4×8 kernel would spend three quarters of its multiplies on padding; four panels keep
 * as many independent sums in flight. Each lane sums in the 4×8 kernel's order: a row's values do
 * not depend on the rows computed beside it.
 */
function kernel1x32(ap: usize, bp: usize, kc: i32, c: usize, first: bool): void {
  const panel = <usize>kc << 5;
  let c0 = f32x4.splat(0),
    c1 = f32x4.splat(0),
    c2 = f32x4.splat(0),
    c3 = f32x4.splat(0),
    c4 = f32x4.splat(0),
    c5 = f32x4.splat(0),
    c6 = f32x4.splat(0),
    c7 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const a = v128.load32_splat(ap);
    c0 = madd(c0, a, v128.load(bp));
    c1 = madd(c1, a, v128.load(bp, 16));
    c2 = madd(c2, a, v128.load(bp + panel));
    c3 = madd(c3, a, v128.load(bp + panel, 16));
    c4 = madd(c4, a, v128.load(bp + 2 * panel));
    c5 = madd(c5, a, v128.load(bp + 2 * panel, 16));
    c6 = madd(c6, a, v128.load(bp + 3 * panel));
    c7 = madd(c7, a, v128.load(bp + 3 * panel, 16));
    ap += 16;
    bp += 32;
  }
  putRow(c, c0, c1, 8, first);
  putRow(c + 32, c2, c3, 8, first);
  putRow(c + 64, c4, c5, 8, first);
  putRow(c + 96, c6, c7, 8, first);
}

/** C[2×16] (= or +=) rows 0 and 1 of Apanel · two B panels over kc depths; see `kernel1x32`. */
function kernel2x16(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, first: bool): void {
  const panel = <usize>kc << 5;
  let c00 = f32x4.splat(0),
    c01 = f32x4.splat(0),
    c02 = f32x4.splat(0),
    c03 = f32x4.splat(0),
    c10 = f32x4.splat(0),
    c11 = f32x4.splat(0),
    c12 = f32x4.splat(0),
    c13 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const b2 = v128.load(bp + panel);
    const b3 = v128.load(bp + panel, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(c00, a, b0);
    c01 = madd(c01, a, b1);
    c02 = madd(c02, a, b2);
    c03 = madd(c03, a, b3);
    a = v128.load32_splat(ap, 4);
    c10 = madd(c10, a, b0);
    c11 = madd(c11, a, b1);
    c12 = madd(c12, a, b2);
    c13 = madd(c13, a, b3);
    ap += 16;
    bp += 32;
  }
  const row1 = c + (<usize>ldc << 2);
  putRow(c, c00, c01, 8, first);
  putRow(c + 32, c02, c03, 8, first);
  putRow(row1, c10, c11, 8, first);
  putRow(row1 + 32, c12, c13, 8, first);
}

/** Floats before K-block `k0` of a whole packed B: each earlier block holds KC depths of every panel. */
@inline
function packedBlockOffset(N: i32, k0: i32): usize {
  return <usize>k0 * <usize>((N + 7) & ~7);
}

/**
 * All of B decoded and packed once, K-block after K-block, each as `packB` lays out a tile of every
 * column: a weight used by many GEMMs skips the decode and packing of every call. `dst` holds
 * K · roundUp(N, 8) floats.
 */
export function packWeights(b: usize, format: i32, kContig: bool, N: i32, K: i32, dst: usize, tables: usize): void {
  for (let k0 = 0; k0 < K; k0 += KC) {
    packB(b, format, kContig, N, K, 0, N, k0, min(KC, K - k0), dst + (packedBlockOffset(N, k0) << 2), tables);
  }
}

/**
 * C[m0:m1, n0:n1] = scale · A[m0:m1, :] · B[n0:n1, :]ᵀ (rows of C are N long). Scratch: `packedA`
 * holds 4·KC floats, `packedB` KC · roundUp(n1 − n0, 8) floats. With `bPacked`, b is B as
 * `packWeights` left it (n0 a multiple of 8) and `packedB` goes unused.
 */
export function gemmTile(
  a: usize,
  aFormat: i32,
  aKContig: bool,
  b: usize,
  bFormat: i32,
  bKContig: bool,
  bPacked: bool,
  c: usize,
  M: i32,
  N: i32,
  K: i32,
  m0: i32,
  m1: i32,
  n0: i32,
  n1: i32,
  scale: f32,
  tables: usize,
  packedA: usize,
  packedB: usize,
): void {
  const cols = n1 - n0;
  if (K === 0) {
    for (let m = m0; m < m1; m++) memory.fill(c + ((<usize>m * <usize>N + <usize>n0) << 2), 0, <usize>cols << 2);
    return;
  }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const first = k0 === 0;
    let panels = packedB;
    if (bPacked) panels = b + ((packedBlockOffset(N, k0) + <usize>n0 * <usize>kc) << 2);
    else packB(b, bFormat, bKContig, N, K, n0, cols, k0, kc, packedB, tables);
    for (let m = m0; m < m1; m += 4) {
      const rows = min(4, m1 - m);
      packA(a, aFormat, aKContig, M, K, m, rows, k0, kc, packedA, tables);
      const cRow = c + ((<usize>m * <usize>N + <usize>n0) << 2);
      // One or two rows (a decode step's few sequences) go several panels at a time while whole ones are left.
      const wide = rows === 1 ? 32 : rows === 2 ? 16 : 0;
      let j = 0;
      for (; wide > 0 && cols - j >= wide; j += wide) {
        const panel = panels + ((<usize>(j >> 3) * <usize>kc) << 5);
        if (rows === 1) kernel1x32(packedA, panel, kc, cRow + (<usize>j << 2), first);
        else kernel2x16(packedA, panel, kc, cRow + (<usize>j << 2), N, first);
      }
      for (; j < cols; j += 8) {
        kernel4x8(packedA, panels + ((<usize>(j >> 3) * <usize>kc) << 5), kc, cRow + (<usize>j << 2), N, rows, min(8, cols - j), first);
      }
    }
  }
  if (scale !== 1) {
    for (let m = m0; m < m1; m++) {
      const row = c + ((<usize>m * <usize>N + <usize>n0) << 2);
      for (let j = 0; j < cols; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) * scale);
    }
  }
}
