/**
 * Codebook quantization shared by MapQuantize and MapDequantize: the float32 midpoints of a sorted
 * map, the code of a value among them, and the 4-bit packing (element 2i in the low nibble of byte i).
 */

/**
 * t_j = f32(f32(map[j] + map[j + 1]) · 0.5) for j < map.length − 1, padded with +∞ to 2^k − 1
 * entries so that the search below halves exact powers of two (a +∞ is never below a value).
 */
export function midpoints(map: Float32Array): Float32Array {
  let size = 1;
  while (size < map.length) size *= 2;
  const t = new Float32Array(size - 1).fill(Number.POSITIVE_INFINITY);
  for (let j = 0; j + 1 < map.length; j++) t[j] = Math.fround(Math.fround(map[j]! + map[j + 1]!) * 0.5);
  return t;
}

/**
 * #{ j : t_j < x } for the sorted, padded `t`: a binary search by halving powers of two, each step
 * adding its width when the threshold just below it is under x (no data-dependent branches to
 * mispredict: a value's code takes eight compares for a 256-entry map). NaN compares false
 * everywhere, so it gets 0.
 */
export function codeOf(t: Float32Array, x: number): number {
  let code = 0;
  for (let step = (t.length + 1) >> 1; step > 0; step >>= 1) code += t[code + step - 1]! < x ? step : 0;
  return code;
}

/** Code i of `codes` written with `bits` per code. */
export function codeAt(codes: Uint8Array, i: number, bits: 4 | 8): number {
  return bits === 8 ? codes[i]! : (codes[i >> 1]! >> ((i & 1) * 4)) & 15;
}
