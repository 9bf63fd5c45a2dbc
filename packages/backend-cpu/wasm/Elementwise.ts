// AssemblyScript: elementwise kernels, four f32 lanes at a time (two f64 lanes where the reference
// computes in f64 with operands that are not f32). Each gives the reference's f32 results bit for
// bit: an f32 +, −, ×, ÷ or √ computed in f64 and rounded to f32 is the f32 operation's correctly
// rounded result (f64's 53 bits are at least 2·24 + 2, so the double rounding is harmless).

/** Binary ops as the TypeScript side numbers them. */
const ADD = 0;
const SUB = 1;
const MUL = 2;

@inline
function lanes(op: i32, a: v128, b: v128): v128 {
  return op === ADD ? f32x4.add(a, b) : op === SUB ? f32x4.sub(a, b) : op === MUL ? f32x4.mul(a, b) : f32x4.div(a, b);
}

@inline
function scalar(op: i32, a: f32, b: f32): f32 {
  return op === ADD ? a + b : op === SUB ? a - b : op === MUL ? a * b : a / b;
}

/** One row: out[j] = full[j] op part[j · partStep] (part op full when `swap`), j < n. */
@inline
function row(op: i32, partStep: i32, swap: bool, full: usize, part: usize, out: usize, n: i32): void {
  let j = 0;
  if (partStep === 0) {
    const p = v128.load32_splat(part);
    for (; j + 4 <= n; j += 4) {
      const f = v128.load(full + (<usize>j << 2));
      v128.store(out + (<usize>j << 2), swap ? lanes(op, p, f) : lanes(op, f, p));
    }
  } else {
    for (; j + 4 <= n; j += 4) {
      const f = v128.load(full + (<usize>j << 2));
      const p = v128.load(part + (<usize>j << 2));
      v128.store(out + (<usize>j << 2), swap ? lanes(op, p, f) : lanes(op, f, p));
    }
  }
  for (; j < n; j++) {
    const f = load<f32>(full + (<usize>j << 2));
    const p = load<f32>(part + (<usize>(j * partStep) << 2));
    store<f32>(out + (<usize>j << 2), swap ? scalar(op, p, f) : scalar(op, f, p));
  }
}

@inline
function rowsOf(op: i32, partStep: i32, swap: bool, full: usize, part: usize, out: usize, rows: i32, n: i32, partRowStep: i32): void {
  for (let r = 0; r < rows; r++) {
    const at = (<usize>r * <usize>n) << 2;
    row(op, partStep, swap, full + at, part + ((<usize>r * <usize>partRowStep) << 2), out + at, n);
  }
}

@inline
function binaryOf(op: i32, full: usize, part: usize, out: usize, rows: i32, n: i32, partRowStep: i32, partStep: i32, swap: bool): void {
  // Literal flags, so inlining leaves one loop per case.
  if (partStep === 0) {
    if (swap) rowsOf(op, 0, true, full, part, out, rows, n, partRowStep);
    else rowsOf(op, 0, false, full, part, out, rows, n, partRowStep);
  } else if (swap) rowsOf(op, 1, true, full, part, out, rows, n, partRowStep);
  else rowsOf(op, 1, false, full, part, out, rows, n, partRowStep);
}

/**
 * out = full op part over rows × n values, `part` broadcast: element j of row r is
 * part[r · partRowStep + j · partStep] (partStep 0 or 1): the same shape (1 row, step 1), a scalar
 * (steps 0), a row vector (row step 0) or a column vector (row step 1, step 0). `swap` computes
 * part op full. op: 0 add, 1 sub, 2 mul, 3 div.
 */
export function binary(op: i32, full: usize, part: usize, out: usize, rows: i32, n: i32, partRowStep: i32, partStep: i32, swap: bool): void {
  if (op === ADD) binaryOf(ADD, full, part, out, rows, n, partRowStep, partStep, swap);
  else if (op === SUB) binaryOf(SUB, full, part, out, rows, n, partRowStep, partStep, swap);
  else if (op === MUL) binaryOf(MUL, full, part, out, rows, n, partRowStep, partStep, swap);
  else binaryOf(3, full, part, out, rows, n, partRowStep, partStep, swap);
}

/** out[i] = x[i] · scale + shift in f64, rounded to f32 (scale and shift need not be f32 values). */
export function affine(x: usize, out: usize, n: i32, scale: f64, shift: f64): void {
  const scales = f64x2.splat(scale);
  const shifts = f64x2.splat(shift);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(v), scales), shifts);
    const hi = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), scales), shifts);
    v128.store(out + (<usize>i << 2), i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(<f64>load<f32>(x + (<usize>i << 2)) * scale + shift));
}

/** Unary ops as the TypeScript side numbers them. */
const NEG = 0;
const SQUARE = 1;
const SQRT = 2;

@inline
function unaryLanes(op: i32, v: v128): v128 {
  return op === NEG ? f32x4.neg(v) : op === SQUARE ? f32x4.mul(v, v) : op === SQRT ? f32x4.sqrt(v) : rsqrtLanes(v);
}

/** 1 / √x as the reference computes it: √ and ÷ in f64, then f32. */
@inline
function rsqrtLanes(v: v128): v128 {
  const one = f64x2.splat(1);
  const lo = f64x2.div(one, f64x2.sqrt(f64x2.promote_low_f32x4(v)));
  const hi = f64x2.div(one, f64x2.sqrt(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))));
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

@inline
function unaryOf(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), unaryLanes(op, v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(unaryLanes(op, f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
}

/** out[i] = op(x[i]); op: 0 neg, 1 square, 2 sqrt, 3 rsqrt. */
export function unary(op: i32, x: usize, out: usize, n: i32): void {
  if (op === NEG) unaryOf(NEG, x, out, n);
  else if (op === SQUARE) unaryOf(SQUARE, x, out, n);
  else if (op === SQRT) unaryOf(SQRT, x, out, n);
  else unaryOf(3, x, out, n);
}
