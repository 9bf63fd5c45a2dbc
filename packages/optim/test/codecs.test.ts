import { fp8, Random } from '@octet/core';
import { describe, expect, it } from 'vitest';
import {
  dequantizeBlockwise4bit,
  dequantizeRank1,
  pack4bit,
  quantizeBlockwise4bit,
  quantizeRank1,
  rank1Codec,
  rank1Statistics,
  unpack4bit,
} from '../src/adamw-4bit-codec.js';
import { dequantizeBlockwise, quantizeBlockwise } from '../src/adamw-8bit-codec.js';
import { dequantizeFp8Groups, E4M3_MAX, quantizeFp8Groups } from '../src/adamw-fp8-codec.js';
import {
  DYNAMIC_MAP_SIGNED_4BIT,
  DYNAMIC_MAP_SIGNED_8BIT,
  DYNAMIC_MAP_UNSIGNED_8BIT,
  halfGapAround,
  LINEAR_MAP_4BIT,
  SIGNED_LINEAR_MAP_4BIT,
} from '../src/codebooks.js';
import { dequantizeError4bit, quantizeError4bit, selectTopK, topKLayout } from '../src/micro-adam-codec.js';

const random = new Random(7);
/** Values over several decades of both signs, like Adam moments. */
const moments = (n: number, signed = true) =>
  Float32Array.from({ length: n }, () => (signed && random.next() < 0.5 ? -1 : 1) * 10 ** (-6 * random.next()) * random.next());

/** Checks every element of each block: |x − x̂| ≤ half the local code gap × absmax (f32 slack), absmax element exact. */
function expectBlockBound(x: Float32Array, y: Float32Array, absmax: Float32Array, blockSize: number, map: Float32Array) {
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

describe('AdamW8bit codec (block-wise, 256-entry dynamic maps)', () => {
  it('round-trips each block within half the local code gap × absmax; the absmax element is exact', () => {
    for (const [map, signed] of [
      [DYNAMIC_MAP_SIGNED_8BIT, true],
      [DYNAMIC_MAP_UNSIGNED_8BIT, false],
    ] as const) {
      const x = moments(256 * 5 + 77, signed);
      // Make every block's absmax element positive so its exactness is checked (code 1.0).
      for (let b = 0; b < 6; b++) x[b * 256 + 3] = 2;
      const { codes, absmax } = quantizeBlockwise(x, map, 256);
      expect(codes).toHaveLength(x.length);
      expect(absmax).toHaveLength(6);
      expect(Array.from(absmax)).toEqual(Array(6).fill(2));
      expectBlockBound(x, dequantizeBlockwise(codes, absmax, map, 256), absmax, 256, map);
    }
  });

  it('a negative absmax element decodes to −0.99296875·absmax: the signed map has no −1 (exactly half its end gap away)', () => {
    const x = Float32Array.from([-4, 1, 0.5, 0]);
    const { codes, absmax } = quantizeBlockwise(x, DYNAMIC_MAP_SIGNED_8BIT, 256);
    const y = dequantizeBlockwise(codes, absmax, DYNAMIC_MAP_SIGNED_8BIT, 256);
    expect(y[0]).toBeCloseTo(-4 * 0.99296875, 6);
    expect(y[3]).toBe(0);
    expectBlockBound(x, y, absmax, 256, DYNAMIC_MAP_SIGNED_8BIT);
  });

  it('keeps an all-zero block at zero', () => {
    const { codes, absmax } = quantizeBlockwise(new Float32Array(300), DYNAMIC_MAP_SIGNED_8BIT, 256);
    expect(Array.from(dequantizeBlockwise(codes, absmax, DYNAMIC_MAP_SIGNED_8BIT, 256)).every((v) => v === 0)).toBe(true);
  });
});

describe('AdamW4bit codecs', () => {
  it('packs two codes per byte, low nibble first', () => {
    const codes = Uint8Array.from([1, 15, 0, 7, 9]);
    const packed = pack4bit(codes);
    expect(Array.from(packed)).toEqual([0xf1, 0x70, 0x09]);
    expect(Array.from(unpack4bit(packed, 5))).toEqual([1, 15, 0, 7, 9]);
  });

  it('first moment: blocks of 128 within half the local gap × absmax, absmax element exact', () => {
    const x = moments(128 * 3 + 5);
    for (let b = 0; b < 4; b++) x[b * 128] = 3;
    const { codes, absmax } = quantizeBlockwise4bit(x, 128);
    expect(Math.max(...codes)).toBeLessThan(16);
    expectBlockBound(x, dequantizeBlockwise4bit(codes, absmax, 128), absmax, 128, DYNAMIC_MAP_SIGNED_4BIT);
  });

  it('second moment: rank-1 scales min(row max, column max); within half the gap of the linear map, never 0 where s > 0', () => {
    const rows = 12;
    const cols = 20;
    const v = Float32Array.from({ length: rows * cols }, (_, i) => (1 + (i % 7)) * 10 ** -(Math.floor(i / cols) % 4) * random.next());
    v[5] = 0; // an exact zero decodes to s/16, the map's smallest code
    const shape = [rows, cols];
    const [rowMax, colMax] = rank1Statistics(v, shape) as [Float32Array, Float32Array];
    expect(rowMax[2]).toBe(Math.max(...v.subarray(2 * cols, 3 * cols)));
    const { codes, maxes } = quantizeRank1(v, shape);
    const y = dequantizeRank1(codes, maxes, shape);
    for (let i = 0; i < v.length; i++) {
      const s = Math.min(rowMax[Math.floor(i / cols)]!, colMax[i % cols]!);
      expect(y[i]!).toBeGreaterThan(0);
      if (v[i]! / s >= 1 / 16)
        expect(Math.abs(y[i]! - v[i]!)).toBeLessThanOrEqual(halfGapAround(LINEAR_MAP_4BIT, v[i]! / s) * s * (1 + 1e-6));
      else expect(y[i]).toBeCloseTo(s / 16, 12);
      if (v[i] === s) expect(y[i]).toBe(v[i]); // the element that sets its own scale is exact
    }
  });

  it("first moment with 'rank1-linear': rank-1 scales of |m| on linspace(−1, 1, 16), within half its gap × s", () => {
    const rows = 12;
    const cols = 20;
    const m = moments(rows * cols);
    const shape = [rows, cols];
    const codec = rank1Codec(SIGNED_LINEAR_MAP_4BIT);
    const smallestCode = Math.min(...Array.from(SIGNED_LINEAR_MAP_4BIT, Math.abs));
    const state = codec.encode(m, shape);
    expect(Object.keys(state)).toEqual(['codes', 'max_dim0', 'max_dim1']);
    const y = codec.decode(state, shape);
    const [rowMax, colMax] = rank1Statistics(m, shape) as [Float32Array, Float32Array];
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
    const groups = quantizeFp8Groups(x, 128, true);
    expect(groups.codes).toHaveLength(x.length);
    for (const a of [groups.scale, groups.expand!, groups.center!]) expect(a).toHaveLength(3);
    for (let g = 0; g < 3; g++) {
      const block = Array.from(x.subarray(g * 128, (g + 1) * 128), Math.abs);
      const mx = Math.max(...block);
      const mn = Math.min(...block.filter((v) => v > 0));
      const k = groups.expand![g]!;
      expect(k * 16).toBe(Math.round(k * 16));
      expect(k).toBe(Math.floor((16 * Math.log2((448 * 448) / 2)) / Math.log2(mx / mn)) / 16);
      expect(groups.center![g]).toBe(Math.fround(Math.sqrt(mx * mn)));
      const q = fp8.decode(groups.codes.subarray(g * 128, (g + 1) * 128), 'e4m3fn');
      expect(Math.max(...Array.from(q, Math.abs))).toBe(E4M3_MAX);
    }
  });

  it('round-trips within half the e4m3 gap in the expanded domain; the absmax element is exact to f32', () => {
    const x = moments(128 * 4);
    const groups = quantizeFp8Groups(x, 128, true);
    const y = dequantizeFp8Groups(groups, 128);
    const grid = fp8.decodeTable('e4m3fn').filter((v) => Number.isFinite(v) && v >= 0);
    const sorted = Float32Array.from(new Set(grid)).sort();
    for (let i = 0; i < x.length; i++) {
      const g = Math.floor(i / 128);
      const k = groups.expand![g]!;
      const c = groups.center![g]!;
      const s = groups.scale[g]!;
      const z = (Math.abs(x[i]!) / c) ** k / s; // the exact expanded value the cast rounds
      const zHat = (Math.abs(y[i]!) / c) ** k / s;
      expect(Math.abs(zHat - z)).toBeLessThanOrEqual(halfGapAround(sorted, z) * (1 + 1e-4) + 1e-6);
      expect(Math.sign(y[i]!)).toBe(Math.sign(x[i]!));
    }
    for (let g = 0; g < 4; g++) {
      const block = Array.from(x.subarray(g * 128, (g + 1) * 128), Math.abs);
      const at = block.indexOf(Math.max(...block));
      expect(Math.abs(y[g * 128 + at]! / x[g * 128 + at]! - 1)).toBeLessThan(1e-6);
    }
  });

  it('decodes to exactly sign(q·s)·|q·s|^(1/k)·c, the formula per element', () => {
    const x = Float32Array.from({ length: 128 * 64 }, (_, i) => random.normal() * 10 ** ((-8 * ((i * 37) % 101)) / 100));
    const groups = quantizeFp8Groups(x, 128, true);
    const q = fp8.decode(groups.codes, 'e4m3fn');
    const y = dequantizeFp8Groups(groups, 128);
    for (let i = 0; i < x.length; i++) {
      const g = Math.floor(i / 128);
      const qs = q[i]! * groups.scale[g]!;
      expect(y[i]).toBe(Math.fround(Math.sign(qs) * Math.abs(qs) ** (1 / groups.expand![g]!) * groups.center![g]!));
    }
  });

  it('keeps small moments that plain e4m3 scaling flushes to zero (why the expansion matters)', () => {
    // One group spanning nine decades: 1e-9 … 1.
    const x = Float32Array.from({ length: 128 }, (_, i) => 10 ** (-9 * (i / 127)));
    const expanded = dequantizeFp8Groups(quantizeFp8Groups(x, 128, true), 128);
    const plain = dequantizeFp8Groups(quantizeFp8Groups(x, 128, false), 128);
    const worst = (y: Float32Array) => Math.max(...Array.from(x, (v, i) => Math.abs(y[i]! - v) / v));
    expect(worst(expanded)).toBeLessThan(0.5);
    expect(worst(plain)).toBe(1); // flushed to 0
    expect(Array.from(plain).filter((v) => v === 0).length).toBeGreaterThan(40);
    expect(Array.from(expanded).filter((v) => v === 0).length).toBe(0);
  });

  it('keeps zeros and all-zero groups at zero, and equal magnitudes exact', () => {
    const x = Float32Array.from([0, 0.5, -0.5, 0, ...new Array(124).fill(0.5), ...new Array(128).fill(0)]);
    const y = dequantizeFp8Groups(quantizeFp8Groups(x, 128, true), 128);
    expect(Array.from(y)).toEqual(Array.from(x));
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
