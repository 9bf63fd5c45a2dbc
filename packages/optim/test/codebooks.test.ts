import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DYNAMIC_MAP_SIGNED_4BIT,
  DYNAMIC_MAP_SIGNED_8BIT,
  DYNAMIC_MAP_UNSIGNED_8BIT,
  dynamicMap,
  halfGapAround,
  LINEAR_MAP_4BIT,
  type LinspaceKernel,
  linearMapWithoutZero,
  nearestCode,
  nearestCodeByMidpoint,
  SIGNED_LINEAR_MAP_4BIT,
} from '../src/codebooks.js';

/**
 * The maps as PyTorch builds them (bitsandbytes' create_dynamic_map and thu-ml's create_pow_map run
 * under torch 1.13.1 with ATEN_CPU_CAPABILITY=default, avx2 and avx512), as float32 bit patterns.
 */
const fixtures = JSON.parse(readFileSync(join(import.meta.dirname, '__fixtures__', 'torch-maps.json'), 'utf8')) as Record<
  LinspaceKernel,
  Record<'signed8' | 'unsigned8' | 'signed4' | 'linear4', number[]>
>;
const bits = (values: Float32Array) => Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));

describe('codebooks', () => {
  for (const kernel of ['default', 'avx2', 'avx512'] as const) {
    it(`regenerates the published maps bit for bit (torch CPU kernel ${kernel})`, () => {
      expect(bits(dynamicMap({ kernel }))).toEqual(fixtures[kernel].signed8);
      expect(bits(dynamicMap({ signed: false, kernel }))).toEqual(fixtures[kernel].unsigned8);
      expect(bits(dynamicMap({ maxExponentBits: 3, totalBits: 4, kernel }))).toEqual(fixtures[kernel].signed4);
      expect(bits(linearMapWithoutZero(4, kernel))).toEqual(fixtures[kernel].linear4);
    });
  }

  it('has the 8-bit dynamic map properties: 256 sorted entries, max 1, 0 for signed, smallest magnitude 0.55e-6', () => {
    for (const map of [DYNAMIC_MAP_SIGNED_8BIT, DYNAMIC_MAP_UNSIGNED_8BIT]) {
      expect(map).toHaveLength(256);
      for (let i = 1; i < 256; i++) expect(map[i]!).toBeGreaterThan(map[i - 1]!);
      expect(map[255]).toBe(1);
      expect(map).toContain(0);
    }
    // Entries as torch computes them (AVX2 kernel), each a float32: 10^(i−6) × midpoints of linspace(0.1, 1, 2^i + 1).
    const s = DYNAMIC_MAP_SIGNED_8BIT;
    expect(s[127]).toBe(0); // 127 negatives, then 0, then 127 positives below 1.0
    expect(s[0]).toBe(-0.992968738079071);
    expect(s[254]).toBe(0.992968738079071);
    expect(s[128]).toBe(5.500000384017767e-7); // the smallest magnitude, 0.55 × 10⁻⁶
    expect(s[126]).toBe(-5.500000384017767e-7);
    expect(s[129]).toBe(3.250000190746505e-6); // 10⁻⁵ × midpoints of linspace(0.1, 1, 3)
    expect(s[130]).toBe(7.749999895168003e-6);
    expect(s[200]).toBe(0.23359376192092896);
    const u = DYNAMIC_MAP_UNSIGNED_8BIT;
    expect(u[0]).toBe(0);
    expect(u[1]).toBe(3.2500003044333425e-7); // unsigned: twice the fraction items per exponent
    expect(u[2]).toBe(7.749999895168003e-7);
    expect(u[200]).toBe(0.6167968511581421);
    expect(u[254]).toBe(0.9964843988418579);
    // The three CPU kernels disagree in the last bit of a dozen entries (e.g. index 34).
    expect(dynamicMap({ kernel: 'default' })[34]).toBe(-0.5148437023162842);
    expect(dynamicMap({ kernel: 'avx2' })[34]).toBe(-0.514843761920929);
  });

  it("has thu-ml's 4-bit maps: ±0.0055 … ±0.8875, 0, 1 for m and k/16 without 0 for v", () => {
    const expected = [
      -0.8875, -0.6625, -0.4375, -0.2125, -0.0775, -0.0325, -0.0055, 0, 0.0055, 0.0325, 0.0775, 0.2125, 0.4375, 0.6625, 0.8875, 1,
    ];
    expect(Array.from(DYNAMIC_MAP_SIGNED_4BIT)).toEqual(expected.map((x) => expect.closeTo(x, 7)));
    expect(Array.from(LINEAR_MAP_4BIT)).toEqual(Array.from({ length: 16 }, (_, i) => (i + 1) / 16));
  });

  it("has thu-ml's signed linear map linspace(−1, 1, 16): ±1 at the ends, (2i − 15)/15 to float32 precision, no 0", () => {
    const map = SIGNED_LINEAR_MAP_4BIT;
    expect(map).toHaveLength(16);
    expect([map[0], map[15]]).toEqual([-1, 1]);
    // Not exactly symmetric: the vectorised linspace counts each half up from its first element
    // (values from linspaceF32's AVX2 path; the fixtures above hold no torch copy of this map).
    for (let i = 0; i < 16; i++) expect(map[i]).toBeCloseTo((2 * i - 15) / 15, 6);
    expect(map[7]).toBe(-0.0666666030883789);
    expect(map[8]).toBe(0.0666666179895401);
  });

  it("nearestCodeByMidpoint is lpmm's rule: above the float32 midpoint goes up, on it or below goes down", () => {
    const map = Float32Array.from([-1, 0.1, 0.3, 1]);
    const midpoint = Math.fround(Math.fround(map[1]! + map[2]!) * 0.5);
    const next = Float32Array.of(midpoint);
    new Uint32Array(next.buffer)[0]! += 1; // the next float32 above the (positive) midpoint
    expect(nearestCodeByMidpoint(map, midpoint)).toBe(1);
    expect(nearestCodeByMidpoint(map, next[0]!)).toBe(2);
    expect([-2, -1, 0.05, 0.9, 1, 7].map((x) => nearestCodeByMidpoint(map, x))).toEqual([0, 0, 1, 3, 3, 3]);
    for (const m of [DYNAMIC_MAP_SIGNED_4BIT, LINEAR_MAP_4BIT, SIGNED_LINEAR_MAP_4BIT]) {
      for (let i = 0; i < m.length; i++) expect(nearestCodeByMidpoint(m, m[i]!)).toBe(i);
      for (let x = -1; x <= 1; x += 1 / 512) {
        const code = nearestCodeByMidpoint(m, Math.fround(x));
        expect(Math.abs(m[code]! - x)).toBeLessThanOrEqual(Math.max(halfGapAround(m, x), m[0]! - x) + 1e-7);
      }
    }
  });

  it('finds the nearest code, clamping outside the map', () => {
    const map = Float32Array.from([-1, -0.5, 0, 0.25, 1]);
    expect([-2, -0.8, -0.7, -0.75, 0.1, 0.13, 0.2, 0.9, 5].map((x) => nearestCode(map, x))).toEqual([0, 0, 1, 0, 2, 3, 3, 4, 4]);
    for (const map of [DYNAMIC_MAP_SIGNED_8BIT, DYNAMIC_MAP_SIGNED_4BIT, LINEAR_MAP_4BIT]) {
      for (let i = 0; i < map.length; i++) expect(nearestCode(map, map[i]!)).toBe(i);
      for (let x = -1; x <= 1; x += 1 / 512) {
        const code = nearestCode(map, x);
        expect(Math.abs(map[code]! - x)).toBeLessThanOrEqual(Math.max(halfGapAround(map, x), map[0]! - x) + 1e-7);
      }
    }
  });
});

describe('nearest-code lookup', () => {
  /** The nearest code by scanning every code (ties to the lower), for maps sorted ascending. */
  const scan = (map: Float32Array, x: number) => {
    let best = 0;
    for (let i = 1; i < map.length; i++) if (Math.abs(map[i]! - x) < Math.abs(map[best]! - x)) best = i;
    return best;
  };

  it('agrees with a scan of every code, at every code, beside it and between codes, for every map', () => {
    const next = (x: number, step: number) => {
      const f = Float32Array.of(x);
      const bits = new Int32Array(f.buffer);
      bits[0]! += x >= 0 ? step : -step;
      return f[0]!;
    };
    for (const map of [DYNAMIC_MAP_SIGNED_8BIT, DYNAMIC_MAP_SIGNED_4BIT, LINEAR_MAP_4BIT, SIGNED_LINEAR_MAP_4BIT]) {
      const probes: number[] = [];
      for (let i = 0; i < map.length; i++) {
        const code = map[i]!;
        probes.push(code, next(code, 1), next(code, -1), next(code, 1 << 16), next(code, -(1 << 16)));
        if (i + 1 < map.length) {
          const middle = (code + map[i + 1]!) / 2; // a double: ties and near-ties between the two codes
          probes.push(middle, middle + 1e-12, middle - 1e-12, Math.fround(middle));
        }
      }
      for (let k = 0; k < 20000; k++) probes.push(Math.sin(k * 12.9898) * (k % 3 === 0 ? 1 : 10 ** -(k % 9)));
      for (const x of probes) {
        if (!(x > map[0]!) || x >= map[map.length - 1]!) continue; // clamping is checked above
        expect(nearestCode(map, x), `x = ${x}`).toBe(scan(map, x));
      }
    }
  });

  it('is exact where the float32 lookup starts off: codes closer than its buckets, a tie that rounds up', () => {
    // 0.5, 0.5001 and 0.5002 share a bucket: x above the second must walk past the first.
    const close = Float32Array.from([-1, 0.5, 0.5001, 0.5002, 1]);
    expect([0.50008, 0.50012, 0.50016, 0.50019].map((x) => nearestCode(close, x))).toEqual([2, 2, 3, 3]);
    // x = 0.5 − 2^-26 is halfway between 0.5 − 2^-25 and 0.5 (the tie goes to the lower code), and
    // its float32 rounds to 0.5, whose bucket starts at 0.5's code: the lookup must step back.
    const adjacent = Float32Array.from([-1, 0.5 - 2 ** -25, 0.5, 1]);
    expect(nearestCode(adjacent, 0.5 - 2 ** -26)).toBe(1);
    expect(nearestCode(adjacent, 0.5 - 2 ** -27)).toBe(2);
  });
});
