// Non-saturating FP8 casts: overflow → NaN (e4m3fn, fnuz) or ±inf (e5m2), checked against the
// independent table-driven reference, plus ONNX Runtime 1.30's known deviations.
import { describe, expect, it } from 'vitest';
import { FP8_FORMATS, type Fp8Format, fp8 } from '../src/numerics.js';
import { castInputs } from './helpers/fp8-inputs.js';
import { NAN, referenceEncode } from './helpers/fp8-reference.js';
import { NAN_RESULT, ortCodesOf, ortRoundTrip } from './helpers/ort-oracle.js';

const FORMATS = Object.keys(FP8_FORMATS) as Fp8Format[];

function firstMismatch(
  inputs: Float32Array,
  codes: Uint8Array,
  format: Fp8Format,
  expectedAt: (i: number) => number | string,
): string | null {
  for (let i = 0; i < inputs.length; i++) {
    const want = expectedAt(i);
    const ok = want === NAN || want === NAN_RESULT ? fp8.isNaNCode(format, codes[i]!) : codes[i] === want;
    if (!ok) return `x=${inputs[i]}: got 0x${codes[i]!.toString(16)}, want ${String(want)}`;
  }
  return null;
}

describe.each(FORMATS)('%s, non-saturating', (format) => {
  it('matches the reference on every test input', () => {
    const inputs = castInputs(format);
    const codes = fp8.encode(inputs, format, { saturate: false });
    expect(firstMismatch(inputs, codes, format, (i) => referenceEncode(inputs[i]!, format, false))).toBeNull();
  });

  it('sends overflow and ±inf to ±inf (e5m2) or NaN (the others)', () => {
    const { max, infinityCode } = FP8_FORMATS[format];
    const codes = fp8.encode(new Float32Array([max * 2, -max * 2, Infinity, -Infinity, max]), format, { saturate: false });
    if (infinityCode !== null) {
      expect(Array.from(codes.subarray(0, 4))).toEqual([infinityCode, infinityCode | 0x80, infinityCode, infinityCode | 0x80]);
    } else {
      for (const code of codes.subarray(0, 4)) expect(fp8.isNaNCode(format, code)).toBe(true);
    }
    expect(codes[4]).toBe(FP8_FORMATS[format].maxCode);
  });
});

describe.each(['e4m3fnuz', 'e5m2fnuz'] as const)('%s, non-saturating, against ONNX Runtime', (format) => {
  it('agrees with ORT on every test input', async () => {
    const inputs = castInputs(format);
    const expected = await ortCodesOf(inputs, format, false);
    const codes = fp8.encode(inputs, format, { saturate: false });
    expect(firstMismatch(inputs, codes, format, (i) => expected[i]!)).toBeNull();
  });
});

describe('ONNX Runtime 1.30 deviations in the non-saturating mode (a change here means ORT changed)', () => {
  it('e4m3fn: ORT maps [480, 496) to 448 where the correct result is NaN', async () => {
    const inputs = new Float32Array([448, 464, 464.00003, 479.99997, 480, 488, 495.99997, 496, 1000]);
    const ort = Array.from(await ortRoundTrip(inputs, 'e4m3fn', false));
    expect(ort).toEqual([448, 448, NaN, NaN, 448, 448, 448, NaN, NaN]);
    const ours = Array.from(fp8.decode(fp8.encode(inputs, 'e4m3fn', { saturate: false }), 'e4m3fn'));
    expect(ours).toEqual([448, 448, NaN, NaN, NaN, NaN, NaN, NaN, NaN]);
  });

  it('e5m2: ORT maps [61440, 65536) to NaN where the correct result is +inf', async () => {
    // Below 61440 (max + half a step) ORT and octet agree: 59393..61439 rounds to 57344.
    const inputs = new Float32Array([57344, 59392, 59393, 61439.996, 61440, 63000, 65535.996, 65536, 1e6]);
    const ort = Array.from(await ortRoundTrip(inputs, 'e5m2', false));
    expect(ort).toEqual([57344, 57344, 57344, 57344, NaN, NaN, NaN, Infinity, Infinity]);
    const ours = Array.from(fp8.decode(fp8.encode(inputs, 'e5m2', { saturate: false }), 'e5m2'));
    expect(ours).toEqual([57344, 57344, 57344, 57344, Infinity, Infinity, Infinity, Infinity, Infinity]);
  });
});
