// Saturating FP8 casts and FP8 decoding, bit-exact against ONNX Runtime's Cast (CPU provider).
import { describe, expect, it } from 'vitest';
import { FP8_FORMATS, type Fp8Format, fp8 } from '../src/numerics.js';
import { castInputs, firstDifference } from './helpers/fp8-inputs.js';
import { NAN, referenceEncode } from './helpers/fp8-reference.js';
import { NAN_RESULT, ortCodesOf, ortDecodeAllCodes, ortDequantizeAllCodes } from './helpers/ort-oracle.js';

const FORMATS = Object.keys(FP8_FORMATS) as Fp8Format[];

const bitsOf = (values: Float32Array): Uint32Array => new Uint32Array(values.buffer, values.byteOffset, values.length);

/** Indices where `actual` differs from the expected codes (NaN: any NaN code on both sides). */
function mismatches(inputs: Float32Array, actual: Uint8Array, expected: ArrayLike<number | string>, format: Fp8Format): string[] {
  const found: string[] = [];
  for (let i = 0; i < inputs.length && found.length < 10; i++) {
    const want = expected[i]!;
    const got = actual[i]!;
    const ok = want === NAN || want === NAN_RESULT ? fp8.isNaNCode(format, got) : got === want;
    if (!ok)
      found.push(
        `x=${inputs[i]} (0x${bitsOf(inputs)[i]!.toString(16)}): got 0x${got.toString(16)}, want ${typeof want === 'number' && want >= 0 ? `0x${want.toString(16)}` : 'NaN'}`,
      );
  }
  return found;
}

describe.each(FORMATS)('%s against ONNX Runtime', (format) => {
  it('decodes all 256 codes as ORT Cast and DequantizeLinear do', async () => {
    const codes = Uint8Array.from({ length: 256 }, (_, code) => code);
    const ours = fp8.decode(codes, format);
    for (const theirs of [await ortDecodeAllCodes(format), await ortDequantizeAllCodes(format)]) {
      for (let code = 0; code < 256; code++) {
        if (Number.isNaN(theirs[code])) expect(ours[code], `code 0x${code.toString(16)}`).toBeNaN();
        else expect(Object.is(ours[code], theirs[code]), `code 0x${code.toString(16)}: ${ours[code]} vs ${theirs[code]}`).toBe(true);
      }
    }
  });

  it('decodes to distinct values, so a decoded value names its code', () => {
    const values = fp8.decode(
      Uint8Array.from({ length: 256 }, (_, code) => code),
      format,
    );
    const seen = new Set<string>();
    let nanCodes = 0;
    for (let code = 0; code < 256; code++) {
      if (Number.isNaN(values[code])) {
        nanCodes++;
        expect(fp8.isNaNCode(format, code)).toBe(true);
      } else {
        const key = Object.is(values[code], -0) ? '-0' : String(values[code]);
        expect(seen.has(key), `value ${key} decoded twice`).toBe(false);
        seen.add(key);
      }
    }
    expect(nanCodes).toBe({ e4m3fn: 2, e5m2: 6, e4m3fnuz: 1, e5m2fnuz: 1 }[format]);
  });

  it('encodes (saturating) every test input to the code ORT produces', async () => {
    const inputs = castInputs(format);
    expect(inputs.length).toBeGreaterThan(1_065_000);
    const expected = await ortCodesOf(inputs, format, true);
    const ours = fp8.encode(inputs, format);
    expect(mismatches(inputs, ours, expected, format)).toEqual([]);
    // saturate: true is the default.
    expect(firstDifference(fp8.encode(inputs, format, { saturate: true }), ours)).toBe(-1);
  });

  it('matches the independent reference in the saturating mode too', () => {
    // Validates the reference that the non-saturating tests rely on.
    const inputs = castInputs(format);
    const expected = Array.from(inputs, (x) => referenceEncode(x, format, true));
    expect(mismatches(inputs, fp8.encode(inputs, format), expected, format)).toEqual([]);
  });

  it('saturates overflow and ±inf to ±max, keeps NaN, and keeps -0 only where the format has it', () => {
    const { max, maxCode, hasNegativeZero } = FP8_FORMATS[format];
    const codes = fp8.encode(new Float32Array([max * 4, -max * 4, Infinity, -Infinity, Number.NaN, -0, 3.4e38]), format);
    expect(Array.from(codes.subarray(0, 4))).toEqual([maxCode, maxCode | 0x80, maxCode, maxCode | 0x80]);
    expect(fp8.isNaNCode(format, codes[4]!)).toBe(true);
    expect(codes[5]).toBe(hasNegativeZero ? 0x80 : 0);
    expect(codes[6]).toBe(maxCode);
  });
});

it('e4m3fn rounds values up to 464 to 448 and beyond it saturates, as ORT does', async () => {
  const inputs = new Float32Array([448, 460, 464, 464.00003, 470, 480, 1e6]);
  const expected = await ortCodesOf(inputs, 'e4m3fn', true);
  expect(Array.from(expected)).toEqual([0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e]);
  expect(Array.from(fp8.encode(inputs, 'e4m3fn'))).toEqual(Array.from(expected));
});
