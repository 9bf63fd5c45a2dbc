/**
 * cos and sin of p · base^(−2i/D) for positions p < length, computed in f64 and rounded once to
 * f32, kept per (D, base) and grown by doubling: Rope kernels of every step and every sequence read
 * the same rows instead of calling Math.cos and Math.sin again.
 */
const angleTables = new Map<string, { cos: Float32Array; sin: Float32Array; length: number }>();

function anglesUpTo(positions: number, D: number, base: number): { cos: Float32Array; sin: Float32Array } {
  const key = `${D}:${base}`;
  const held = angleTables.get(key);
  if (held && held.length >= positions) return held;
  const half = D / 2;
  const length = Math.max(positions, 2 * (held?.length ?? 32));
  const cos = new Float32Array(length * half);
  const sin = new Float32Array(length * half);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * base ** (-(2 * i) / D);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  const table = { cos, sin, length };
  angleTables.set(key, table);
  return table;
}

/**
 * The Rope kernel's angles, shared by every backend so they agree to the bit: cos (E·T, D/2) then
 * sin (E·T, D/2) of (offset_e + t) · base^(−2i/D) at row e·T + t, computed in f64 and rounded once
 * to f32; sin negated for the inverse rotation (the gradient). E is 1 for one offset, or the
 * number of per-batch-entry offsets.
 */
export function ropeTable(T: number, D: number, base: number, offset: number | readonly number[], inverse: boolean): Float32Array {
  const offsets = typeof offset === 'number' ? [offset] : offset;
  const half = D / 2;
  const rows = offsets.length * T;
  const { cos, sin } = anglesUpTo(Math.max(...offsets) + T, D, base);
  const table = new Float32Array(2 * rows * half);
  for (const [e, start] of offsets.entries()) {
    table.set(cos.subarray(start * half, (start + T) * half), e * T * half);
    const sines = sin.subarray(start * half, (start + T) * half);
    const at = (rows + e * T) * half;
    if (inverse) for (let j = 0; j < sines.length; j++) table[at + j] = -sines[j]!;
    else table.set(sines, at);
  }
  return table;
}
