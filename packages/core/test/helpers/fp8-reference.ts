/**
 * An independent, table-driven FP8 reference: no bit tricks, only the format's definition.
 * It lists the finite non-negative values of the format in code order, extends the list by
 * one step past the largest, and rounds |x| to the nearest entry by comparing distances,
 * ties going to the even code. Landing on the extra step is an overflow.
 */
import { FP8_FORMATS, type Fp8Format } from '../../src/numerics.js';

export interface ReferenceGrid {
  /** grid[code] = value of the non-negative code, for code 0..maxCode, then the extra step. */
  readonly values: Float64Array;
  readonly maxCode: number;
}

const grids = new Map<Fp8Format, ReferenceGrid>();

/** Finite non-negative values from the format's definition: (1 + m/2^M)·2^(e - bias), subnormals m·2^(1 - bias - M). */
export function referenceGrid(format: Fp8Format): ReferenceGrid {
  let grid = grids.get(format);
  if (grid === undefined) {
    const { mantissaBits, bias, maxCode } = FP8_FORMATS[format];
    const values = new Float64Array(maxCode + 2);
    for (let code = 0; code <= maxCode + 1; code++) {
      const exponentField = code >> mantissaBits;
      const mantissa = code % 2 ** mantissaBits;
      values[code] =
        exponentField === 0 ? mantissa * 2 ** (1 - bias - mantissaBits) : (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponentField - bias);
    }
    // The extra step past max continues the top binade's spacing.
    if (values[maxCode + 1] !== values[maxCode]! + (values[maxCode]! - values[maxCode - 1]!)) {
      throw new Error(`unexpected grid for ${format}`);
    }
    grid = { values, maxCode };
    grids.set(format, grid);
  }
  return grid;
}

/** Index of the grid entry nearest to `magnitude` (≥ 0), ties to the even index. */
export function nearestGridCode(grid: ReferenceGrid, magnitude: number): number {
  const { values } = grid;
  const last = values.length - 1;
  if (magnitude >= values[last]!) return last;
  // Largest code whose value ≤ magnitude.
  let low = 0;
  let high = last;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (values[middle]! <= magnitude) low = middle;
    else high = middle;
  }
  const below = magnitude - values[low]!;
  const above = values[high]! - magnitude;
  if (below < above) return low;
  if (above < below) return high;
  return low % 2 === 0 ? low : high;
}

export const NAN = 'NaN';

/** The reference code of `x`, or 'NaN' where the format's result is a NaN (any NaN code). */
export function referenceEncode(x: number, format: Fp8Format, saturate: boolean): number | typeof NAN {
  const info = FP8_FORMATS[format];
  if (Number.isNaN(x)) return NAN;
  const grid = referenceGrid(format);
  const magnitude = Math.abs(x);
  let code = magnitude === Infinity ? grid.maxCode + 1 : nearestGridCode(grid, magnitude);
  if (code > grid.maxCode) {
    if (saturate) code = grid.maxCode;
    else if (info.infinityCode !== null) code = info.infinityCode;
    else return NAN;
  }
  const negative = x < 0 || Object.is(x, -0);
  if (!negative) return code;
  if (code === 0 && !info.hasNegativeZero) return 0;
  return code | 0x80;
}

/** The f32 values adjacent to `x` (which must be finite and a f32). */
export function f32Neighbours(x: number): [below: number, above: number] {
  const value = new Float32Array([x]);
  const bits = new Int32Array(value.buffer);
  const original = bits[0]!;
  const step = (delta: number): number => {
    // For positive x, +1 on the bits moves away from zero; for negative x, toward it.
    bits[0] = original + delta;
    return value[0]!;
  };
  if (x === 0) return [-(2 ** -149), 2 ** -149];
  return x > 0 ? [step(-1), step(1)] : [step(1), step(-1)];
}
