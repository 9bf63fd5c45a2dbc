// quantize / dequantize at every granularity with static, current and delayed scales.
import { describe, expect, it } from 'vitest';
import {
  BLOCK_1X128,
  BLOCK_128X128,
  computeScale,
  currentScaling,
  DelayedScaling,
  dequantize,
  e8m0,
  FP8_FORMATS,
  type Fp8Format,
  fp8,
  type Granularity,
  MX_BLOCK,
  OctetArgumentError,
  PER_COLUMN,
  PER_ROW,
  PER_TENSOR,
  perBlock,
  type QuantizedTensor,
  quantize,
  type ScaleSource,
  staticScaling,
} from '../src/index.js';
import { firstDifference, seededNormal } from './helpers/fp8-inputs.js';
import { referenceGrid } from './helpers/fp8-reference.js';

/** Row r has magnitude ~2^(r mod 9 - 4) and column c a factor (c mod 5 + 1) / 3: scales differ by row, column and block. */
function testValues(shape: number[], seed = 1): Float32Array {
  const cols = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b, 1);
  const normal = seededNormal(seed);
  return Float32Array.from({ length: size }, (_, i) => {
    const row = Math.floor(i / cols);
    return (normal() * 2 ** ((row % 9) - 4) * (((i % cols) % 5) + 1)) / 3;
  });
}

/** Tile index of each element, from the test's own reading of the granularity. */
function tileOf(index: number, shape: number[], granularity: Granularity): number {
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const row = Math.floor(index / cols);
  const col = index % cols;
  switch (granularity.kind) {
    case 'tensor':
      return 0;
    case 'row':
      return row;
    case 'column':
      return col;
    case 'mx':
      return row * (cols / 32) + Math.floor(col / 32);
    case 'block': {
      const [tileRows, tileCols] = granularity.tile;
      return Math.floor(row / tileRows) * (cols / tileCols) + Math.floor(col / tileCols);
    }
  }
}

function tileMaxima(values: Float32Array, shape: number[], granularity: Granularity, tiles: number): Float32Array {
  const maxima = new Float32Array(tiles);
  values.forEach((v, i) => {
    const t = tileOf(i, shape, granularity);
    maxima[t] = Math.max(maxima[t]!, Math.abs(v));
  });
  return maxima;
}

/** Spacing of the format's grid around |y| (y within range). */
function gridGap(format: Fp8Format, y: number): number {
  const grid = referenceGrid(format).values;
  const magnitude = Math.abs(y);
  let low = 0;
  let high = grid.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (grid[middle]! <= magnitude) low = middle;
    else high = middle;
  }
  return grid[high]! - grid[low]!;
}

/** Every check that holds for any granularity and scale source. */
function expectSoundQuantization(values: Float32Array, shape: number[], q: QuantizedTensor): void {
  const { format, granularity } = q;
  const tiles = q.scaleShape[0] * q.scaleShape[1];
  expect(q.bytes.length).toBe(values.length);
  expect(q.scales.length).toBe(tiles);
  expect(q.shape).toEqual(shape);
  expect(Array.from(q.scaleInv)).toEqual(Array.from(q.scales, (s) => Math.fround(1 / s)));

  // The bytes are exactly fp8(x · scale of its tile).
  const scaled = values.map((v, i) => v * q.scales[tileOf(i, shape, granularity)]!);
  expect(firstDifference(q.bytes, fp8.encode(scaled, format))).toBe(-1);

  // Dequantized error: at most half a code step (or the clipped excess) times scaleInv, plus f32 rounding.
  const restored = dequantize(q);
  const { max } = FP8_FORMATS[format];
  const problems: string[] = [];
  values.forEach((x, i) => {
    const t = tileOf(i, shape, granularity);
    const y = scaled[i]!;
    const inScaledUnits = Math.abs(y) > max ? Math.abs(y) - max : gridGap(format, y) / 2;
    const bound = inScaledUnits * q.scaleInv[t]! + 2 ** -22 * (Math.abs(x) + Math.abs(restored[i]!));
    if (!(Math.abs(restored[i]! - x) <= bound) && problems.length < 5) problems.push(`i=${i} x=${x} got ${restored[i]} bound ${bound}`);
  });
  expect(problems).toEqual([]);
}

const SHAPES: number[][] = [
  [256, 384],
  [2, 128, 384], // rank 3: rows are the 256 (batch × time) positions
];

const GRANULARITIES: [string, Granularity][] = [
  ['per tensor', PER_TENSOR],
  ['per row', PER_ROW],
  ['per column', PER_COLUMN],
  ['1x128 blocks', BLOCK_1X128],
  ['128x128 blocks', BLOCK_128X128],
  ['2x96 blocks', perBlock(2, 96)],
];

describe.each(['e4m3fn', 'e5m2'] as const)('%s', (format) => {
  describe.each(SHAPES)('shape %j', (...shape) => {
    const values = testValues(shape);

    describe.each(GRANULARITIES)('%s', (_name, granularity) => {
      it('current scaling: scale = max / amax per tile, amax exact, amax element on the top code', () => {
        const q = quantize(values, shape, { format, granularity, scaling: currentScaling() });
        expectSoundQuantization(values, shape, q);
        const tiles = q.scales.length;
        const maxima = tileMaxima(values, shape, granularity, tiles);
        expect(Array.from(q.amax!)).toEqual(Array.from(maxima));
        const { max, maxCode } = FP8_FORMATS[format];
        expect(Array.from(q.scales)).toEqual(Array.from(maxima, (amax) => Math.fround(max / amax)));
        const restored = dequantize(q);
        values.forEach((v, i) => {
          const t = tileOf(i, shape, granularity);
          if (Math.abs(v) !== maxima[t]) return;
          expect(q.bytes[i]! & 0x7f).toBe(maxCode);
          expect(Math.abs(restored[i]! - v)).toBeLessThanOrEqual(2 ** -21 * Math.abs(v));
        });
      });

      it('current scaling with margin and power-of-two scales', () => {
        const q = quantize(values, shape, { format, granularity, scaling: currentScaling({ margin: 1 }), powerOfTwoScales: true });
        expectSoundQuantization(values, shape, q);
        const { max } = FP8_FORMATS[format];
        q.scales.forEach((s, t) => {
          const exact = max / q.amax![t]! / 2;
          expect(Number.isInteger(Math.log2(s))).toBe(true);
          expect(s).toBeLessThanOrEqual(exact);
          expect(2 * s).toBeGreaterThan(exact);
        });
      });

      it('static scaling: given scales, no amax', () => {
        const q = quantize(values, shape, { format, granularity, scaling: staticScaling(2) });
        expectSoundQuantization(values, shape, q);
        expect(q.amax).toBeNull();
        expect(q.scales.every((s) => s === 2)).toBe(true);
        const tiles = q.scales.length;
        const perTile = Float32Array.from({ length: tiles }, (_, t) => 1 + (t % 3));
        const q2 = quantize(values, shape, { format, granularity, scaling: staticScaling(perTile) });
        expect(Array.from(q2.scales)).toEqual(Array.from(perTile));
        expectSoundQuantization(values, shape, q2);
      });

      it('delayed scaling: scale 1 first, then from the previous amax', () => {
        const delayed = new DelayedScaling({ historyLength: 4 });
        const first = quantize(values, shape, { format, granularity, scaling: delayed });
        expect(first.scales.every((s) => s === 1)).toBe(true);
        expectSoundQuantization(values, shape, first);
        const second = quantize(values, shape, { format, granularity, scaling: delayed });
        expectSoundQuantization(values, shape, second);
        const { max } = FP8_FORMATS[format];
        expect(Array.from(second.scales)).toEqual(Array.from(first.amax!, (amax) => Math.fround(max / amax)));
        expect(delayed.steps).toBe(2);
      });
    });

    it('MX: 32-element blocks along the last axis, e8m0 scales per the OCP spec', () => {
      const q = quantize(values, shape, { format, granularity: MX_BLOCK });
      expectSoundQuantization(values, shape, q);
      const cols = shape[shape.length - 1]!;
      expect(q.scaleShape).toEqual([values.length / cols, cols / 32]);
      const emax = { e4m3fn: 8, e5m2: 15 }[format];
      expect(Array.from(e8m0.decode(q.scaleInvE8m0!))).toEqual(Array.from(q.scaleInv));
      q.scaleInv.forEach((scaleInv, t) => {
        const amax = q.amax![t]!;
        expect(scaleInv).toBe(2 ** (Math.floor(Math.log2(amax)) - emax));
        expect(q.scales[t]).toBe(1 / scaleInv);
      });
    });
  });
});

describe('edge cases', () => {
  it('a tensor of zeros gets scale 1 and dequantizes to zeros', () => {
    for (const granularity of [PER_TENSOR, PER_ROW, MX_BLOCK, BLOCK_1X128]) {
      const q = quantize(new Float32Array(256), [2, 128], { format: 'e4m3fn', granularity });
      expect(q.scales.every((s) => s === 1)).toBe(true);
      expect(q.bytes.every((b) => b === 0)).toBe(true);
      expect(dequantize(q).every((v) => v === 0)).toBe(true);
    }
  });

  it('infinite amax gives scale 1, NaN is left out of the amax, and nothing becomes an inf or NaN scale', () => {
    const values = new Float32Array([1, Infinity, 3, 4, Number.NaN, 0.5, 2, 1]);
    const q = quantize(values, [2, 4], { format: 'e4m3fn', granularity: PER_ROW });
    expect(Array.from(q.amax!)).toEqual([Infinity, 2]);
    expect(Array.from(q.scales)).toEqual([1, 224]);
    expect(q.bytes[1]).toBe(0x7e); // inf saturates to 448
    expect(fp8.isNaNCode('e4m3fn', q.bytes[4]!)).toBe(true);
    const mx = quantize(new Float32Array(32).fill(Infinity), [32], { format: 'e4m3fn', granularity: MX_BLOCK });
    expect(Array.from(mx.scaleInv)).toEqual([1]);
  });

  it('treats a vector as one row and a scalar as [1, 1]', () => {
    const vector = quantize(new Float32Array([1, -2, 3, 8]), [4], { format: 'e5m2', granularity: PER_ROW });
    expect(vector.scaleShape).toEqual([1, 1]);
    const columns = quantize(new Float32Array([1, -2, 3, 8]), [4], { format: 'e5m2', granularity: PER_COLUMN });
    expect(columns.scaleShape).toEqual([1, 4]);
    const scalar = quantize(new Float32Array([5]), [], { format: 'e4m3fn' });
    expect(scalar.scaleShape).toEqual([1, 1]);
    expect(dequantize(scalar)[0]).toBeCloseTo(5, 5);
  });

  it("matches TransformerEngine's compute_scale_from_amax on the special amaxes", () => {
    expect(computeScale(0, 'e4m3fn')).toBe(1);
    expect(computeScale(Infinity, 'e4m3fn')).toBe(1);
    expect(computeScale(Number.NaN, 'e4m3fn')).toBe(1);
    expect(computeScale(1e-45, 'e4m3fn')).toBe(3.4028234663852886e38); // f32 overflow → largest f32
    expect(computeScale(3, 'e4m3fn')).toBe(Math.fround(448 / 3));
    expect(computeScale(3, 'e4m3fn', { powerOfTwo: true })).toBe(128);
    expect(computeScale(3, 'e5m2', { margin: 2 })).toBe(Math.fround(Math.fround(57344 / 3) / 4));
  });

  it('writes into a given output buffer', () => {
    const values = testValues([4, 64]);
    const q = quantize(values, [4, 64], { format: 'e4m3fn', granularity: perBlock(2, 32) });
    const out = new Float32Array(256);
    expect(dequantize(q, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(dequantize(q)));
  });

  it('passes rounding options through to the codec', () => {
    const values = testValues([8, 64]);
    const spec = { format: 'e4m3fn', granularity: PER_ROW, rounding: 'stochastic', seed: 3 } as const;
    const a = quantize(values, [8, 64], spec);
    expect(Array.from(quantize(values, [8, 64], spec).bytes)).toEqual(Array.from(a.bytes));
    expect(Array.from(quantize(values, [8, 64], { ...spec, seed: 4 }).bytes)).not.toEqual(Array.from(a.bytes));
    const big = new Float32Array([1, 1e9]);
    const unsaturated = quantize(big, [2], { format: 'e4m3fn', scaling: staticScaling(1), saturate: false });
    expect(fp8.isNaNCode('e4m3fn', unsaturated.bytes[1]!)).toBe(true);
  });
});

describe('bad input', () => {
  const values = new Float32Array(12);
  const expectError = (run: () => unknown, message: RegExp) => {
    expect(run).toThrow(OctetArgumentError);
    expect(run).toThrow(message);
  };

  it('names the argument, what was given and what is allowed', () => {
    expectError(
      () => quantize([1, 2] as unknown as Float32Array, [2], { format: 'e4m3fn' }),
      /^values: got \[1, 2\]; allowed: a Float32Array/,
    );
    expectError(() => quantize(values, [3, 5], { format: 'e4m3fn' }), /^values\.length: got 12; allowed: 15, the size of shape \[3, 5\]/);
    expectError(() => quantize(values, [3, -4], { format: 'e4m3fn' }), /^shape: got \[3, -4\]; allowed: an array of non-negative integers/);
    expectError(() => quantize(values, [3, 4], { format: 'e4m3' as Fp8Format }), /^spec\.format: got "e4m3"; allowed: one of 'e4m3fn'/);
    expectError(() => quantize(values, [3, 4], undefined as never), /^spec: got undefined/);
    expectError(
      () => quantize(values, [3, 4], { format: 'e5m2', granularity: perBlock(2, 4) }),
      /^spec\.granularity tile: got \[2, 4\]; allowed: a tile that divides \[rows, cols\] = \[3, 4\]/,
    );
    expectError(
      () => quantize(new Float32Array(48), [48], { format: 'e5m2', granularity: MX_BLOCK }),
      /spec\.granularity tile: got \[1, 32\]/,
    );
    expectError(
      () => quantize(values, [3, 4], { format: 'e5m2', granularity: { kind: 'diagonal' } as never }),
      /^spec\.granularity: got an object/,
    );
    expectError(
      () => quantize(values, [3, 4], { format: 'e5m2', scaling: { kind: 'dynamic' } as never }),
      /^spec\.scaling: got an object \(Object\); allowed: staticScaling/,
    );
    expectError(
      () => quantize(values, [3, 4], { format: 'e5m2', scaling: staticScaling(new Float32Array(2)) }),
      /^scale: got a Float32Array of length 2; allowed: positive finite scales/,
    );
    expectError(
      () => quantize(values, [3, 4], { format: 'e5m2', granularity: PER_ROW, scaling: staticScaling(new Float32Array([1, 2])) }),
      /^spec\.scaling\.scale: got a Float32Array of length 2; allowed: one scale per tile: a Float32Array of 3/,
    );
    expectError(
      () => quantize(new Float32Array(64), [2, 32], { format: 'e4m3fn', granularity: MX_BLOCK, scaling: new DelayedScaling() }),
      /^spec\.scaling: got "delayed"; allowed: current scaling without margin/,
    );
    expectError(() => quantize(values, [3, 4], { format: 'e5m2', rounding: 'stochastic', seed: 2.5 }), /^spec\.seed: got 2\.5/);
    expectError(() => quantize(values, [3, 4], { format: 'e5m2', rounding: 'floor' as 'stochastic' }), /^spec\.rounding: got "floor"/);
    expectError(
      () => quantize(values, [3, 4], { format: 'e5m2', powerOfTwoScales: 1 as unknown as boolean }),
      /^spec\.powerOfTwoScales: got 1/,
    );
    expectError(() => perBlock(0, 128), /^tileRows: got 0; allowed: a positive integer/);
    expectError(() => perBlock(1, 1.5), /^tileCols: got 1\.5/);
    expectError(() => staticScaling(0), /^scale: got 0; allowed: a positive finite number/);
    expectError(() => currentScaling({ margin: -1 }), /^options\.margin: got -1; allowed: a finite number ≥ 0/);
  });

  it('dequantize checks what it is given', () => {
    const q = quantize(values, [3, 4], { format: 'e4m3fn', granularity: PER_ROW });
    expectError(
      () => dequantize({ ...q, scaleInv: new Float32Array(1) }),
      /^quantized\.scaleInv: got a Float32Array of length 1; allowed: a Float32Array of 3 scales/,
    );
    expectError(() => dequantize({ ...q, format: 'int8' as Fp8Format }), /^quantized\.format: got "int8"/);
    expectError(() => dequantize({ ...q, bytes: new Uint8Array(5) }), /^quantized\.bytes\.length: got 5; allowed: 12/);
  });
});

// Keeps the type of a scale source in view for readers of the tests.
const _sources: ScaleSource[] = [staticScaling(1), currentScaling(), new DelayedScaling()];
void _sources;
