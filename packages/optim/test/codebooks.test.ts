import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DYNAMIC_MAP_SIGNED_4BIT,
  DYNAMIC_MAP_SIGNED_8BIT,
  DYNAMIC_MAP_UNSIGNED_8BIT,
  dynamicMap,
  LINEAR_MAP_4BIT,
  type LinspaceKernel,
  linearMapWithoutZero,
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
});
