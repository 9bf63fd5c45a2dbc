import { FP8_FORMATS, fp8 } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { ELEMENTWISE, expectClose, REDUCTION } from '../src/index.js';
import { edgeValues } from '../src/kernels/fp8.js';

describe('expectClose', () => {
  it("'exact' compares bits: NaN matches any NaN, -0 does not match 0", () => {
    expectClose(Float32Array.of(1, Number.NaN, -0), Float32Array.of(1, -Number.NaN, -0), 'exact');
    expect(() => expectClose(Float32Array.of(0), Float32Array.of(-0), 'exact')).toThrow(/values differ/);
    expect(() => expectClose(Float32Array.of(1), Float32Array.of(Number.NaN), 'exact')).toThrow(/values differ/);
  });

  it('elementwise tolerance is relative, with a floor of 1 near zero', () => {
    expectClose(Float32Array.of(1000.0005, 1e-7), Float32Array.of(1000, 0), ELEMENTWISE);
    expect(() => expectClose(Float32Array.of(1000.01), Float32Array.of(1000), ELEMENTWISE)).toThrow(/values differ/);
  });

  it('reduction tolerance is relative to the largest expected value', () => {
    expectClose(Float32Array.of(100, 0.0005), Float32Array.of(100, 0), REDUCTION);
    expect(() => expectClose(Float32Array.of(100, 0.005), Float32Array.of(100, 0), REDUCTION)).toThrow(/values differ/);
  });

  it('checks the array type and length', () => {
    expect(() => expectClose(Int32Array.of(1), Float32Array.of(1), 'exact')).toThrow(/array type/);
    expect(() => expectClose(Float32Array.of(1, 2), Float32Array.of(1), 'exact')).toThrow(/length/);
  });
});

describe('FP8 edge values', () => {
  for (const format of Object.keys(FP8_FORMATS) as (keyof typeof FP8_FORMATS)[]) {
    it(`${format}: reach every code, both overflow outcomes and a round-half-to-even tie`, () => {
      const values = edgeValues(format);
      const saturated = new Set(fp8.encode(values, format, { saturate: true }));
      const overflowing = fp8.encode(values, format, { saturate: false });
      // Every code but the NaN / inf ones is the image of some edge value.
      const finiteCodes = [...Array(256).keys()].filter((c) => Number.isFinite(fp8.decode(Uint8Array.of(c), format)[0]));
      expect(finiteCodes.filter((c) => !saturated.has(c))).toEqual([]);
      const info = FP8_FORMATS[format];
      expect(overflowing).toContain(info.infinityCode ?? info.nanCode);
      // The midpoint of codes 1 and 2 is a tie: it rounds to the even code 2.
      const [one, two] = fp8.decode(Uint8Array.of(1, 2), format);
      expect(values).toContain(Math.fround((one! + two!) / 2));
      expect(fp8.encode(Float32Array.of((one! + two!) / 2), format)[0]).toBe(2);
    });
  }
});
