// Stochastic rounding: unbiased on average, confined to the two neighbouring codes, reproducible by seed.
import { describe, expect, it } from 'vitest';
import { bf16, FP8_FORMATS, type Fp8Format, f16, fp8 } from '../src/numerics.js';
import { referenceGrid } from './helpers/fp8-reference.js';

const FORMATS = Object.keys(FP8_FORMATS) as Fp8Format[];
const COPIES = 10_000;

/** The two non-negative grid values around `magnitude`. */
function neighbours(format: Fp8Format, magnitude: number): [number, number] {
  const grid = referenceGrid(format).values;
  let low = 0;
  while (grid[low + 1]! <= magnitude) low++;
  return [grid[low]!, grid[low + 1]!];
}

/** Checks that the mean of the decoded casts is within 3 sigma of `x`, and that only the two neighbours occur. */
function expectUnbiased(decoded: Float32Array, x: number, below: number, above: number): void {
  let sum = 0;
  for (const value of decoded) sum += value;
  expect(decoded.filter((value) => value !== below && value !== above).slice(0, 3)).toEqual(new Float32Array(0));
  const p = (x - below) / (above - below);
  const sigma = ((above - below) * Math.sqrt(p * (1 - p))) / Math.sqrt(decoded.length);
  expect(Math.abs(sum / decoded.length - x)).toBeLessThanOrEqual(3 * sigma + 1e-12 * Math.abs(x));
}

describe.each(FORMATS)('%s stochastic rounding', (format) => {
  const { max, minSubnormal, minNormal } = FP8_FORMATS[format];
  // Positions: between subnormals, across the normal boundary, mid-range (odd fractions), near max.
  const cases = [minSubnormal * 2.3, minNormal * 0.97, 1.1, 3.3, -5.7, max * 0.93];

  it.each(cases)('averages 10^4 casts of %d to within 3 sigma', (x) => {
    const x32 = Math.fround(x);
    const [below, above] = neighbours(format, Math.abs(x32));
    const codes = fp8.encode(new Float32Array(COPIES).fill(x32), format, { rounding: 'stochastic', seed: 7 });
    const decoded = fp8.decode(codes, format);
    if (x32 < 0)
      expectUnbiased(
        decoded.map((v) => -v),
        -x32,
        below,
        above,
      );
    else expectUnbiased(decoded, x32, below, above);
  });

  it('leaves values on the grid unchanged', () => {
    const onGrid = fp8
      .decode(
        Uint8Array.from({ length: 128 }, (_, code) => code),
        format,
      )
      .filter((v) => Number.isFinite(v));
    const codes = fp8.encode(onGrid, format, { rounding: 'stochastic', seed: 1 });
    expect(Array.from(fp8.decode(codes, format))).toEqual(Array.from(onGrid));
  });

  it('gives the same bytes for the same seed and different bytes for another', () => {
    const values = new Float32Array(4096).map((_, i) => Math.sin(i) * 3);
    const options = { rounding: 'stochastic', seed: 12345 } as const;
    const first = fp8.encode(values, format, options);
    expect(Array.from(fp8.encode(values, format, options))).toEqual(Array.from(first));
    const other = fp8.encode(values, format, { ...options, seed: 12346 });
    expect(Array.from(other)).not.toEqual(Array.from(first));
  });

  it('saturates or overflows as the nearest-even mode does', () => {
    const values = new Float32Array([max * 3, -Infinity, Number.NaN]);
    const saturated = fp8.encode(values, format, { rounding: 'stochastic', seed: 3 });
    expect(Array.from(saturated.subarray(0, 2))).toEqual(Array.from(fp8.encode(values, format).subarray(0, 2)));
    expect(fp8.isNaNCode(format, saturated[2]!)).toBe(true);
    const overflowed = fp8.encode(values, format, { rounding: 'stochastic', seed: 3, saturate: false });
    expect(Array.from(overflowed)).toEqual(Array.from(fp8.encode(values, format, { saturate: false })));
  });
});

it('stochastic rounding of a value below half the smallest subnormal rounds up with the right probability', () => {
  // 2^-12 in e4m3fn (smallest subnormal 2^-9): rounds up with probability 1/8.
  const codes = fp8.encode(new Float32Array(COPIES).fill(2 ** -12), 'e4m3fn', { rounding: 'stochastic', seed: 99 });
  expectUnbiased(fp8.decode(codes, 'e4m3fn'), 2 ** -12, 0, 2 ** -9);
});

it('scaled stochastic encoding equals stochastic encoding of the scaled values', () => {
  const values = new Float32Array(10_000).map((_, i) => Math.cos(i) * 0.01);
  const scaled = values.map((v) => v * 300);
  const options = { rounding: 'stochastic', seed: 5 } as const;
  expect(Array.from(fp8.encodeScaled(values, 300, 'e4m3fn', options))).toEqual(Array.from(fp8.encode(scaled, 'e4m3fn', options)));
});

/** The two non-negative values of a 16-bit format around |x|, found from its nearest code. */
function magnitudeNeighbours(codec: typeof bf16 | typeof f16, x: number): [number, number] {
  const nearestCode = codec.encode(new Float32Array([Math.abs(x)]))[0]!;
  const nearest = codec.decode(Uint16Array.of(nearestCode))[0]!;
  const other = codec.decode(Uint16Array.of(nearest <= Math.abs(x) ? nearestCode + 1 : nearestCode - 1))[0]!;
  return [Math.min(nearest, other), Math.max(nearest, other)];
}

describe.each([
  ['bf16', bf16],
  ['f16', f16],
] as const)('%s stochastic rounding', (_name, codec) => {
  it.each([1.0013, -3.3337, 1000.37, 6.1e-5])('averages 10^4 casts of %d to within 3 sigma', (x) => {
    const x32 = Math.fround(x);
    const [below, above] = magnitudeNeighbours(codec, x32);
    const decoded = codec.decode(codec.encode(new Float32Array(COPIES).fill(x32), { rounding: 'stochastic', seed: 11 }));
    expectUnbiased(decoded.map(Math.abs), Math.abs(x32), below, above);
    expect(decoded.every((v) => Math.sign(v) === Math.sign(x32))).toBe(true);
  });

  it('is reproducible by seed', () => {
    const values = new Float32Array(5000).map((_, i) => Math.tan(i));
    const first = codec.encode(values, { rounding: 'stochastic', seed: 42 });
    expect(Array.from(codec.encode(values, { rounding: 'stochastic', seed: 42 }))).toEqual(Array.from(first));
    expect(Array.from(codec.encode(values, { rounding: 'stochastic', seed: 43 }))).not.toEqual(Array.from(first));
  });
});
