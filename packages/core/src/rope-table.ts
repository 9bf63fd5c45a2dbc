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
  const table = new Float32Array(2 * rows * half);
  for (const [e, start] of offsets.entries()) {
    for (let t = 0; t < T; t++) {
      const row = e * T + t;
      for (let i = 0; i < half; i++) {
        const angle = (start + t) * base ** (-(2 * i) / D);
        table[row * half + i] = Math.cos(angle);
        table[rows * half + row * half + i] = inverse ? -Math.sin(angle) : Math.sin(angle);
      }
    }
  }
  return table;
}
