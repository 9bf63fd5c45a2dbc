import { createCpuBackend } from '@octet/backend-cpu';
import { fp8, op, Random, setBackend, type Tensor, tidy } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { rank1Codec } from '../src/adamw-4bit-codec.js';
import { blockwiseCodec } from '../src/adamw-8bit-codec.js';
import { E4M3_MAX, fp8GroupCodec } from '../src/adamw-fp8-codec.js';
import {
  DYNAMIC_MAP_SIGNED_4BIT,
  DYNAMIC_MAP_SIGNED_8BIT,
  DYNAMIC_MAP_UNSIGNED_8BIT,
  LINEAR_MAP_4BIT,
  SIGNED_LINEAR_MAP_4BIT,
} from '../src/codebooks.js';
import type { MomentCodec } from '../src/compressed-adamw.js';
import { dequantizeError4bit, quantizeError4bit, selectTopK, topKLayout } from '../src/micro-adam-codec.js';

beforeAll(() => setBackend(createCpuBackend()));

const random = new Random(7);
/** Values over several decades of both signs, like Adam moments. */
const moments = (n: number, signed = true) =>
  Float32Array.from({ length: n }, () => (signed && random.next() < 0.5 ? -1 : 1) * 10 ** (-6 * random.next()) * random.next());

/** Half the gap between the codes around `x` (at or beyond an end: half the end gap): the nearest-code error bound. */
function halfGapAround(map: Float32Array, x: number): number {
  const last = map.length - 1;
  if (x <= map[0]!) return (map[1]! - map[0]!) / 2;
  if (x >= map[last]!) return (map[last]! - map[last - 1]!) / 2;
  let lo = 0;
  while (map[lo + 1]! < x) lo++;
  return (map[lo + 1]! - map[lo]!) / 2;
}

/** Encodes `x` (shaped `shape`) with `codec` on the CPU backend; returns its state and its decoding as host arrays. */
function roundTrip(codec: MomentCodec, x: Float32Array, shape: readonly number[]) {
  return tidy(() => {
    const state = codec.encode(op.tensor(x, shape), shape);
    const layout = codec.layout(shape);
    for (const [suffix, t] of Object.entries(state)) {
      expect(t.dtype, suffix).toBe(layout[suffix]!.dtype);
      expect(t.shape, suffix).toEqual(layout[suffix]!.shape);
    }
    const decoded = codec.decode(state, shape);
    expect(decoded.shape).toEqual([...shape]);
    const host = (t: Tensor) => t.dataSync();
    return {
      state: Object.fromEntries(Object.entries(state).map(([k, t]) => [k, host(t)])),
      y: host(decoded) as Float32Array,
    };
  });
}

/** Codes of `x` on `map` (the MapQuantize kernel, 8 bits). */
function codesOf(map: Float32Array, x: Float32Array): Uint8Array {
  return tidy(() => op.mapQuantize(op.tensor(x, [x.length]), op.tensor(map, [map.length])).dataSync() as Uint8Array);
}

/** Checks every element of each block: |x − x̂| ≤ half the local code gap × absmax (f32 slack), absmax element exact. */
function expectBlockBound(x: Float32Array, y: Float32Array, absmax: ArrayLike<number>, blockSize: number, map: Float32Array) {
  for (let i = 0; i < x.length; i++) {
    const scale = absmax[Math.floor(i / blockSize)]!;
    const bound = halfGapAround(map, x[i]! / scale) * scale;
    expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(bound * (1 + 1e-6) + scale * 1e-7);
  }
  for (let b = 0; b < absmax.length; b++) {
    const block = Array.from(x.subarray(b * blockSize, (b + 1) * blockSize));
    const at = block.indexOf(absmax[b]!);
    if (at >= 0) expect(y[b * blockSize + at]).toBe(x[b * blockSize + at]); // a positive absmax element maps to code 1.0 exactly
  }
}

describe("codebook lookup (MapQuantize on the optimizers' maps)", () => {
  it("is lpmm's rule: above the float32 midpoint goes up, on it or below goes down, outside clamps", () => {
    const map = Float32Array.from([-1, 0.1, 0.3, 1]);
    const midpoint = Math.fround(Math.fround(map[1]! + map[2]!) * 0.5);
    const next = Float32Array.of(midpoint);
    new Uint32Array(next.buffer)[0]! += 1; // the next float32 above the (positive) midpoint
    expect(Array.from(codesOf(map, Float32Array.from([midpoint, next[0]!, -2, -1, 0.05, 0.9, 1, 7, Number.NaN])))).toEqual([
      1, 2, 0, 0, 1, 3, 3, 3, 0,
    ]);
  });

  it('maps every entry of every map to itself and every value to a nearest entry', () => {
    for (const map of [
      DYNAMIC_MAP_SIGNED_8BIT,
      DYNAMIC_MAP_UNSIGNED_8BIT,
      DYNAMIC_MAP_SIGNED_4BIT,
      LINEAR_MAP_4BIT,
      SIGNED_LINEAR_MAP_4BIT,
    ]) {
      expect(Array.from(codesOf(map, map))).toEqual(Array.from(map, (_, i) => i));
      const probes = Float32Array.from({ length: 4097 }, (_, k) => -1.1 + (2.2 * k) / 4096);
      const codes = codesOf(map, probes);
      for (const [k, x] of probes.entries()) {
        // Nearest up to the f32 rounding of a midpoint.
        const best = Math.min(...Array.from(map, (m) => Math.abs(m - x)));
        expect(Math.abs(map[codes[k]!]! - x)).toBeLessThanOrEqual(best + 1e-7);
      }
    }
  });
});

describe('AdamW8bit codec (block-wise, 256-entry dynamic maps)', () => {
  it('round-trips each block within half the local code gap × absmax; the absmax element is exact', () => {
    for (const [map, signed] of [
      [DYNAMIC_MAP_SIGNED_8BIT, true],
      [DYNAMIC_MAP_UNSIGNED_8BIT, false],
    ] as const) {
      const x = moments(256 * 5 + 77, signed);
      // Make every block's absmax element positive so its exactness is checked (code 1.0).
      for (let b = 0; b < 6; b++) x[b * 256 + 3] = 2;
      const codec = blockwiseCodec(map, 256);
      const { state, y } = roundTrip(codec, x, [x.length]);
      expect(state.codes).toHaveLength(x.length);
      expect(Array.from(state.absmax!)).toEqual(Array(6).fill(2));
      expectBlockBound(x, y, state.absmax!, 256, map);
    }
  });

  it('a negative absmax element decodes to −0.99296875·absmax: the signed map has no −1 (exactly half its end gap away)', () => {
    const x = Float32Array.from([-4, 1, 0.5, 0]);
    const codec = blockwiseCodec(DYNAMIC_MAP_SIGNED_8BIT, 256);
    const { state, y } = roundTrip(codec, x, [2, 2]);
    expect(y[0]).toBeCloseTo(-4 * 0.99296875, 6);
    expect(y[3]).toBe(0);
    expectBlockBound(x, y, state.absmax!, 256, DYNAMIC_MAP_SIGNED_8BIT);
  });

  it('keeps an all-zero block at zero', () => {
    const codec = blockwiseCodec(DYNAMIC_MAP_SIGNED_8BIT, 256);
    const { y } = roundTrip(codec, new Float32Array(300), [300]);
    expect(Array.from(y).every((v) => v === 0)).toBe(true);
  });
});

describe('AdamW4bit codecs', () => {
  it('first moment: blocks of 128, two codes per byte, within half the local gap × absmax, absmax element exact', () => {
    const x = moments(128 * 3 + 5);
    for (let b = 0; b < 4; b++) x[b * 128] = 3;
    const codec = blockwiseCodec(DYNAMIC_MAP_SIGNED_4BIT, 128, 4);
    const { state, y } = roundTrip(codec, x, [x.length]);
    expect(state.codes).toHaveLength(Math.ceil(x.length / 2));
    expectBlockBound(x, y, state.absmax!, 128, DYNAMIC_MAP_SIGNED_4BIT);
  });

  it('second moment: rank-1 scales min(row max, column max); within half the gap of the linear map, never 0 where s > 0', () => {
    const rows = 12;
    const cols = 20;
    const v = Float32Array.from({ length: rows * cols }, (_, i) => (1 + (i % 7)) * 10 ** -(Math.floor(i / cols) % 4) * random.next());
    v[5] = 0; // an exact zero decodes to s/16, the map's smallest code
    const codec = rank1Codec(LINEAR_MAP_4BIT);
    const { state, y } = roundTrip(codec, v, [rows, cols]);
    expect(Object.keys(state)).toEqual(['codes', 'max_dim0', 'max_dim1']);
    const [rowMax, colMax] = [state.max_dim0!, state.max_dim1!];
    expect(rowMax[2]).toBe(Math.max(...v.subarray(2 * cols, 3 * cols)));
    expect(colMax[3]).toBe(Math.max(...Array.from({ length: rows }, (_, r) => v[r * cols + 3]!)));
    for (let i = 0; i < v.length; i++) {
      const s = Math.min(rowMax[Math.floor(i / cols)]!, colMax[i % cols]!);
      expect(y[i]!).toBeGreaterThan(0);
      if (v[i]! / s >= 1 / 16)
        expect(Math.abs(y[i]! - v[i]!)).toBeLessThanOrEqual(halfGapAround(LINEAR_MAP_4BIT, v[i]! / s) * s * (1 + 1e-6));
      else expect(y[i]).toBeCloseTo(s / 16, 12);
      if (v[i] === s) expect(y[i]).toBe(v[i]); // the element that sets its own scale is exact
    }
  });

  it('rank-1 scales of a 3-D moment: the min over dimensions of the max over the others', () => {
    const shape = [3, 4, 5];
    const v = Float32Array.from({ length: 60 }, () => random.next() * 10 ** -(3 * random.next()));
    const codec = rank1Codec(LINEAR_MAP_4BIT);
    const { state, y } = roundTrip(codec, v, shape);
    const index = (i: number) => [Math.floor(i / 20), Math.floor(i / 5) % 4, i % 5];
    for (let d = 0; d < 3; d++) {
      for (let j = 0; j < shape[d]!; j++) {
        const along = Array.from(v).filter((_, i) => index(i)[d] === j);
        expect(state[`max_dim${d}`]![j]).toBe(Math.max(...along));
      }
    }
    for (let i = 0; i < v.length; i++) {
      const s = Math.min(...index(i).map((j, d) => state[`max_dim${d}`]![j]!));
      expect(Math.abs(y[i]! - v[i]!)).toBeLessThanOrEqual(Math.max(halfGapAround(LINEAR_MAP_4BIT, v[i]! / s) * s, s / 16) * (1 + 1e-6));
    }
  });

  it("first moment with 'rank1-linear': rank-1 scales of |m| on linspace(−1, 1, 16), within half its gap × s", () => {
    const rows = 12;
    const cols = 20;
    const m = moments(rows * cols);
    const codec = rank1Codec(SIGNED_LINEAR_MAP_4BIT);
    const smallestCode = Math.min(...Array.from(SIGNED_LINEAR_MAP_4BIT, Math.abs));
    const { state, y } = roundTrip(codec, m, [rows, cols]);
    const [rowMax, colMax] = [state.max_dim0!, state.max_dim1!];
    for (let i = 0; i < m.length; i++) {
      const s = Math.min(rowMax[Math.floor(i / cols)]!, colMax[i % cols]!);
      expect(Math.abs(y[i]! - m[i]!)).toBeLessThanOrEqual(halfGapAround(SIGNED_LINEAR_MAP_4BIT, m[i]! / s) * s * (1 + 1e-6));
      expect(Math.abs(y[i]!)).toBeGreaterThanOrEqual(smallestCode * s * (1 - 1e-6)); // the map has no 0
      if (Math.abs(m[i]!) === s) expect(y[i]).toBe(m[i]); // ±1 codes: the element that sets its own scale is exact
    }
  });
});

describe('AdamWFp8 codec (COAT dynamic range expansion)', () => {
  it('stores q, s, k, c per group of 128 with k a multiple of 1/16 and the max element mapped to 448', () => {
    const x = moments(128 * 2 + 10);
    const { state } = roundTrip(fp8GroupCodec(128, true), x, [x.length]);
    expect(state.codes).toHaveLength(x.length);
    for (const key of ['scale', 'expand', 'center']) expect(state[key]).toHaveLength(3);
    for (let g = 0; g < 3; g++) {
      const block = Array.from(x.subarray(g * 128, (g + 1) * 128), Math.abs);
      const mx = Math.max(...block);
      const mn = Math.min(...block.filter((v) => v > 0));
      const k = state.expand![g]!;
      expect(k * 16).toBe(Math.round(k * 16));
      // The published k, up to the f32 logarithm (a floor at a multiple of 1/16 may land one step either side).
      expect(Math.abs(k - Math.floor((16 * Math.log2((448 * 448) / 2)) / Math.log2(mx / mn)) / 16)).toBeLessThanOrEqual(1 / 16);
      expect(state.center![g]! / Math.sqrt(mx * mn)).toBeCloseTo(1, 6);
      const q = fp8.decode(state.codes!.subarray(g * 128, (g + 1) * 128) as Uint8Array, 'e4m3fn');
      expect(Math.max(...Array.from(q, Math.abs))).toBe(E4M3_MAX);
    }
  });

  it('round-trips within half the e4m3 gap in the expanded domain; the absmax element is exact to f32', () => {
    const x = moments(128 * 4);
    const { state, y } = roundTrip(fp8GroupCodec(128, true), x, [4, 128]);
    const grid = fp8.decodeTable('e4m3fn').filter((v) => Number.isFinite(v) && v >= 0);
    const sorted = Float32Array.from(new Set(grid)).sort();
    for (let i = 0; i < x.length; i++) {
      const g = Math.floor(i / 128);
      const k = state.expand![g]!;
      const c = state.center![g]!;
      const s = state.scale![g]!;
      const z = (Math.abs(x[i]!) / c) ** k / s; // the exact expanded value the cast rounds
      const zHat = (Math.abs(y[i]!) / c) ** k / s;
      expect(Math.abs(zHat - z)).toBeLessThanOrEqual(halfGapAround(sorted, z) * (1 + 1e-4) + 1e-5);
      expect(Math.sign(y[i]!)).toBe(Math.sign(x[i]!));
    }
    for (let g = 0; g < 4; g++) {
      const block = Array.from(x.subarray(g * 128, (g + 1) * 128), Math.abs);
      const at = block.indexOf(Math.max(...block));
      expect(Math.abs(y[g * 128 + at]! / x[g * 128 + at]! - 1)).toBeLessThan(1e-5);
    }
  });

  it('keeps small moments that plain e4m3 scaling flushes to zero (why the expansion matters)', () => {
    // One group spanning nine decades: 1e-9 … 1.
    const x = Float32Array.from({ length: 128 }, (_, i) => 10 ** (-9 * (i / 127)));
    const expanded = roundTrip(fp8GroupCodec(128, true), x, [128]).y;
    const plain = roundTrip(fp8GroupCodec(128, false), x, [128]).y;
    const worst = (y: Float32Array) => Math.max(...Array.from(x, (v, i) => Math.abs(y[i]! - v) / v));
    expect(worst(expanded)).toBeLessThan(0.5);
    expect(worst(plain)).toBe(1); // flushed to 0
    expect(Array.from(plain).filter((v) => v === 0).length).toBeGreaterThan(40);
    expect(Array.from(expanded).filter((v) => v === 0).length).toBe(0);
  });

  it('keeps zeros and all-zero groups at zero, and equal magnitudes exact', () => {
    const x = Float32Array.from([0, 0.5, -0.5, 0, ...new Array(124).fill(0.5), ...new Array(128).fill(0)]);
    for (const expansion of [true, false]) {
      const { y } = roundTrip(fp8GroupCodec(128, expansion), x, [x.length]);
      expect(Array.from(y)).toEqual(Array.from(x));
    }
  });

  it('survives second moments whose max × min underflows f32 (1e-30 beside 1e-14)', () => {
    // √(mx·mn) would be √0 in f32 and every quotient |x|/c infinite or NaN; √mx·√mn is 1e-22.
    const x = Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? 1e-14 : i === 1 ? 1e-30 : 1e-20));
    const { state, y } = roundTrip(fp8GroupCodec(128, true), x, [128]);
    expect(state.center![0]! / 1e-22).toBeCloseTo(1, 5);
    for (let i = 0; i < 128; i++) expect(y[i]! > 0 && Number.isFinite(y[i]!), `element ${i}: ${y[i]}`).toBe(true);
    expect(Math.abs(y[0]! / x[0]! - 1)).toBeLessThan(1e-5);
  });
});

describe('MicroAdam codec', () => {
  it('selects the top-k magnitudes of each block deterministically', () => {
    const a = Float32Array.from({ length: 5000 }, () => random.normal());
    a[10] = a[11] = 100; // ties keep the lower offsets
    const layout = topKLayout(a.length, 2048, 0.01);
    expect(layout.ks).toEqual([21, 21, 10]);
    const { indices } = selectTopK(a, layout);
    for (const [b, k] of layout.ks.entries()) {
      const start = b * 2048;
      const block = Array.from(a.subarray(start, start + 2048), (v, j) => [Math.abs(v), start + j] as const);
      const expected = block
        .sort((x, y) => y[0] - x[0] || x[1] - y[1])
        .slice(0, k)
        .map(([, i]) => i)
        .sort((x, y) => x - y);
      expect(Array.from(indices.subarray(layout.rowOffsets[b]!, layout.rowOffsets[b]! + k))).toEqual(expected);
    }
  });

  it('quantizes the error to 4 bits per element within half a step of its block min/max range', () => {
    const e = Float32Array.from({ length: 300 }, () => random.normal() * 1e-3);
    const { codes, min, max } = quantizeError4bit(e, 128);
    expect(codes).toHaveLength(150);
    const y = dequantizeError4bit(codes, min, max, 128, 300);
    for (let i = 0; i < e.length; i++) {
      const b = Math.floor(i / 128);
      expect(Math.abs(y[i]! - e[i]!)).toBeLessThanOrEqual(((max[b]! - min[b]!) / 15 / 2) * (1 + 1e-5));
    }
  });
});
