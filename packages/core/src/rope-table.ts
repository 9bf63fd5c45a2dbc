/**
 * The Rope kernel's angles, shared by every backend so they agree to the bit: cos (T, D/2) then
 * sin (T, D/2) of (offset + t) · base^(−2i/D), computed in f64 and rounded once to f32; sin
 * negated for the inverse rotation (the gradient).
 */
export function ropeTable(T: number, D: number, base: number, offset: number, inverse: boolean): Float32Array {
  const half = D / 2;
  const table = new Float32Array(2 * T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (offset + t) * base ** (-(2 * i) / D);
      table[t * half + i] = Math.cos(angle);
      table[T * half + t * half + i] = inverse ? -Math.sin(angle) : Math.sin(angle);
    }
  }
  return table;
}
