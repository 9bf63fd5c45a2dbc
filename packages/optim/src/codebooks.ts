/**
 * The quantization maps ("codebooks") of the compressed optimizers, regenerated from their
 * published constructions with the same float32 arithmetic. Values become codes on the device, by
 * the MapQuantize kernel (nearest entry by float32 midpoints).
 *
 * - `dynamicMap`: bitsandbytes' `create_dynamic_map` (the "dynamic tree" type of Dettmers 2015):
 *   for each exponent i < maxExponentBits, the midpoints of `linspace(0.1, 1, n_i)` (float32)
 *   scaled by 10^(i − maxExponentBits + 1), mirrored for the signed map, plus 0 and 1.0, sorted.
 *   8-bit signed: 256 entries from −0.99296875 to 1.0 with 0; smallest magnitude 0.55·10⁻⁶.
 *   thu-ml's 4-bit first-moment map is the same construction with 3 exponent bits and 4 bits.
 * - `linearMapWithoutZero`: thu-ml's `create_pow_map(b, signed=False, 1)`: linspace(0, 1, 2^b + 1)[1:].
 * - `signedLinearMap`: thu-ml's `create_pow_map(b, signed=True, 1)`: linspace(−1, 1, 2^b), which has no 0.
 */

const f32 = Math.fround;

/**
 * Which of PyTorch's CPU kernels computes `torch.linspace` in float32. The result differs in the
 * last bit between them (the maps bitsandbytes builds on the host depend on the machine's CPU):
 * - 'default': ATen's generic code: 8-lane vectors, no fused multiply-add.
 * - 'avx2': 8 lanes, multiply-add fused in the scalar parts (the usual x86 build).
 * - 'avx512': 16 lanes, fused multiply-add.
 */
export type LinspaceKernel = 'default' | 'avx2' | 'avx512';

/**
 * torch.linspace(start, end, steps) in float32, bit for bit as PyTorch's CPU kernel computes it:
 * step = (end − start)/(steps − 1) in float32; the first half counted up from `start`, the second
 * down from `end`; vectors of lanes (two at a time) start from such a base and add `j·step`.
 */
export function linspaceF32(start: number, end: number, steps: number, kernel: LinspaceKernel = 'avx2'): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const fused = kernel !== 'default';
  // a·b + c, rounded once (fused) or twice; a·b is exact in a double here (a float times a small integer).
  const madd = (c: number, sign: number, n: number) => (fused ? f32(c + sign * (step * n)) : f32(c + sign * f32(step * n)));
  const scalar = (i: number) => (i < halfway ? madd(s, 1, i) : madd(e, -1, steps - i - 1));
  const lanes = kernel === 'avx512' ? 16 : 8;
  let i = 0;
  for (; i <= steps - 2 * lanes; i += 2 * lanes) {
    for (const chunk of [i, i + lanes]) {
      const base = scalar(chunk);
      for (let j = 0; j < lanes; j++) out[chunk + j] = f32(base + f32(j * step));
    }
  }
  for (; i < steps; i++) out[i] = scalar(i);
  return out;
}

export interface DynamicMapOptions {
  /** Signed map (first moment) or unsigned (second moment). Default true. */
  signed?: boolean;
  /** Exponent bits (bitsandbytes default 7). */
  maxExponentBits?: number;
  /** Code width (default 8: a 256-entry map). */
  totalBits?: number;
  /** The PyTorch CPU kernel whose float32 linspace to reproduce (default 'avx2'). */
  kernel?: LinspaceKernel;
}

/** bitsandbytes' `create_dynamic_map` (without its padding to 256 for maps narrower than 8 bits). */
export function dynamicMap({ signed = true, maxExponentBits = 7, totalBits = 8, kernel = 'avx2' }: DynamicMapOptions = {}): Float32Array {
  const data: number[] = [];
  const nonSignBits = totalBits - 1;
  const additionalItems = 2 ** (nonSignBits - maxExponentBits) - 1;
  const scaled = (i: number, count: number) => {
    const boundaries = linspaceF32(0.1, 1, count, kernel);
    // 10 ** (i − maxExponentBits + 1) is a Python scalar multiplied in float32 (exactly 1 for the last exponent).
    const scale = f32(10 ** (-(maxExponentBits - 1) + i));
    for (let j = 0; j + 1 < boundaries.length; j++) {
      const mean = f32(f32(boundaries[j]! + boundaries[j + 1]!) / 2);
      data.push(f32(scale * mean));
      if (signed) data.push(f32(-scale * mean));
    }
  };
  let i = 0;
  for (; i < maxExponentBits; i++) {
    scaled(i, signed ? 2 ** (i + nonSignBits - maxExponentBits) + 1 : 2 ** (i + nonSignBits - maxExponentBits + 1) + 1);
  }
  if (additionalItems > 0) scaled(i - 1, additionalItems + 1);
  data.push(0, 1);
  if (data.length !== 2 ** totalBits) {
    throw new Error(`dynamicMap: ${data.length} entries for ${totalBits} bits (maxExponentBits ${maxExponentBits}, signed ${signed})`);
  }
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** thu-ml's linear map without zero: linspace(0, 1, 2^bits + 1)[1:] (the smallest code is 2^−bits, so v never decodes to 0). */
export function linearMapWithoutZero(bits: number, kernel: LinspaceKernel = 'avx2'): Float32Array {
  return linspaceF32(0, 1, 2 ** bits + 1, kernel).slice(1);
}

/** thu-ml's signed linear map: linspace(−1, 1, 2^bits) (even count, so no code is 0: ±1/15, ±3/15, … ±1 for 4 bits). */
export function signedLinearMap(bits: number, kernel: LinspaceKernel = 'avx2'): Float32Array {
  return linspaceF32(-1, 1, 2 ** bits, kernel);
}

/** The 8-bit signed dynamic map (first moment of AdamW8bit). */
export const DYNAMIC_MAP_SIGNED_8BIT = dynamicMap({ signed: true });
/** The 8-bit unsigned dynamic map (second moment of AdamW8bit). */
export const DYNAMIC_MAP_UNSIGNED_8BIT = dynamicMap({ signed: false });
/** thu-ml's 4-bit signed dynamic-exponent map (first moment of AdamW4bit): ±0.0055 … ±0.8875, 0, 1. */
export const DYNAMIC_MAP_SIGNED_4BIT = dynamicMap({ signed: true, maxExponentBits: 3, totalBits: 4 });
/** thu-ml's 4-bit linear map without zero (second moment of AdamW4bit): 1/16, 2/16, …, 1. */
export const LINEAR_MAP_4BIT = linearMapWithoutZero(4);
/** thu-ml's 4-bit signed linear map (AdamW4bit's `firstMoment: 'rank1-linear'`): ±1/15, ±3/15, …, ±1. */
export const SIGNED_LINEAR_MAP_4BIT = signedLinearMap(4);
