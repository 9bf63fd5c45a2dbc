// The fp8 and e8m0 API: formats table, output buffers, scaled variants, e8m0 rules, bad input.
import { describe, expect, it } from 'vitest';
import { E8M0_FORMAT, e8m0, FLOAT_FORMATS, FP8_FORMATS, type Fp8Format, fp8, OctetArgumentError } from '../src/index.js';
import { firstDifference } from './helpers/fp8-inputs.js';
import { referenceGrid } from './helpers/fp8-reference.js';

const FORMATS = Object.keys(FP8_FORMATS) as Fp8Format[];

describe.each(FORMATS)('%s descriptor', (format) => {
  it('agrees with the decoded codes', () => {
    const info = FP8_FORMATS[format];
    const values = fp8.decode(
      Uint8Array.from({ length: 128 }, (_, code) => code),
      format,
    );
    expect(values[info.maxCode]).toBe(info.max);
    expect(values[1]).toBe(info.minSubnormal);
    expect(values[1 << info.mantissaBits]).toBe(info.minNormal);
    expect(2 ** info.maxExponent).toBeLessThanOrEqual(info.max);
    expect(2 ** (info.maxExponent + 1)).toBeGreaterThan(info.max);
    expect(fp8.isNaNCode(format, info.nanCode)).toBe(true);
    if (info.infinityCode !== null) expect(values[info.infinityCode]).toBe(Infinity);
    expect(referenceGrid(format).values[info.maxCode]).toBe(info.max);
    expect(FLOAT_FORMATS[format]).toBe(info);
  });

  it('decodeTable returns a copy of the 256 values', () => {
    const table = fp8.decodeTable(format);
    const decoded = fp8.decode(
      Uint8Array.from({ length: 256 }, (_, code) => code),
      format,
    );
    expect(table).toEqual(decoded);
    table[1] = 1234;
    expect(fp8.decodeTable(format)[1]).not.toBe(1234);
  });

  it.each([true, false])('encodeTable (saturate %s) gives the codes encode gives, and is a copy', (saturate) => {
    const table = fp8.encodeTable(format, { saturate });
    expect(table.length).toBe(1 << 17);
    // Every table slot's smallest and largest f32 bit pattern.
    const bits = new Uint32Array(2 << 17);
    for (let index = 0; index < 1 << 17; index++) {
      const top = (index >>> 1) << 16;
      bits[2 * index] = index & 1 ? top | 1 : top;
      bits[2 * index + 1] = index & 1 ? top | 0xffff : top;
    }
    const codes = fp8.encode(new Float32Array(bits.buffer), format, { saturate });
    for (let i = 0; i < bits.length; i++)
      if (codes[i] !== table[i >>> 1]) expect.fail(`bits 0x${bits[i]!.toString(16)}: ${codes[i]} vs ${table[i >>> 1]}`);
    table[0] = 99;
    expect(fp8.encodeTable(format, { saturate })[0]).toBe(0);
  });
});

describe('fp8 encode and decode', () => {
  it('fill and return given output buffers, also unaligned views', () => {
    const values = new Float32Array([0.5, -3, 448, 1e-9, 7]);
    const backing = new Uint8Array(16);
    const out = backing.subarray(3, 8); // not 4-byte aligned
    expect(fp8.encode(values, 'e4m3fn', {}, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(fp8.encode(values, 'e4m3fn')));
    const decoded = new Float32Array(5);
    expect(fp8.decode(out, 'e4m3fn', decoded)).toBe(decoded);
    expect(Array.from(decoded)).toEqual([0.5, -3, 448, 0, 7]);
  });

  it('handles every length around the 4-at-a-time path', () => {
    for (let n = 0; n < 12; n++) {
      const values = new Float32Array(n).map((_, i) => i * 1.37 - 4);
      const one = Array.from(values, (v) => fp8.encode(new Float32Array([v]), 'e5m2')[0]);
      expect(Array.from(fp8.encode(values, 'e5m2'))).toEqual(one);
    }
  });

  it.each(FORMATS)('decodes long inputs (two codes at a time) bit-identically to short ones: %s', (format) => {
    // Every ordered pair of codes, then one more code so the length is odd.
    const bytes = new Uint8Array(2 * 65536 + 1);
    for (let pair = 0; pair < 65536; pair++) {
      bytes[2 * pair] = pair & 0xff;
      bytes[2 * pair + 1] = pair >>> 8;
    }
    bytes[bytes.length - 1] = 0xff;
    const single = new Uint32Array(
      fp8.decode(
        Uint8Array.from({ length: 256 }, (_, code) => code),
        format,
      ).buffer,
    );
    const expected = Uint32Array.from(bytes, (code) => single[code]!);
    const long = fp8.decode(bytes, format);
    expect(firstDifference(new Uint32Array(long.buffer), expected)).toBe(-1);
    // Views that are not aligned for the two-at-a-time path take the one-at-a-time path.
    const shifted = fp8.decode(bytes.subarray(1), format);
    expect(firstDifference(new Uint32Array(shifted.buffer), expected.subarray(1))).toBe(-1);
    const out = new Float32Array(bytes.length + 1).subarray(1);
    fp8.decode(bytes, format, out);
    expect(firstDifference(new Uint32Array(out.buffer, 4), expected)).toBe(-1);
  });

  it('encodeScaled equals encode of the f32 products, and decodeScaled multiplies in f32', () => {
    const values = new Float32Array(10_000).map((_, i) => Math.sin(i) * 0.3);
    const scale = 1234.5678;
    const products = values.map((v) => v * Math.fround(scale));
    expect(Array.from(fp8.encodeScaled(values, scale, 'e4m3fn'))).toEqual(Array.from(fp8.encode(products, 'e4m3fn')));
    const codes = fp8.encode(products, 'e4m3fn');
    const expected = fp8.decode(codes, 'e4m3fn').map((v) => v * Math.fround(1 / scale));
    expect(Array.from(fp8.decodeScaled(codes, 1 / scale, 'e4m3fn'))).toEqual(Array.from(expected));
  });

  it('roundToFormat snaps to the grid in f32 storage', () => {
    const values = new Float32Array([1.06, 300, 500]);
    expect(Array.from(fp8.roundToFormat(values, 'e4m3fn'))).toEqual([1.0, 288, 448]);
  });

  it('rejects bad input with errors that name the argument, the value and what is allowed', () => {
    const values = new Float32Array(4);
    expect(() => fp8.encode(values, 'e4m3' as Fp8Format)).toThrow(
      new OctetArgumentError('format', 'e4m3', "one of 'e4m3fn', 'e5m2', 'e4m3fnuz', 'e5m2fnuz'"),
    );
    expect(() => fp8.encode(values, 'e4m3' as Fp8Format)).toThrow(/^format: got "e4m3"; allowed: one of 'e4m3fn'/);
    expect(() => fp8.encode([1, 2] as unknown as Float32Array, 'e5m2')).toThrow(/^values: got \[1, 2\]; allowed: a Float32Array/);
    expect(() => fp8.encode(new Float64Array(2) as unknown as Float32Array, 'e5m2')).toThrow(/values: got a Float64Array of length 2/);
    expect(() => fp8.encode(values, 'e5m2', { rounding: 'up' as 'stochastic' })).toThrow(
      /options\.rounding: got "up"; allowed: 'nearest-even' or 'stochastic'/,
    );
    expect(() => fp8.encode(values, 'e5m2', { rounding: 'stochastic', seed: 1.5 })).toThrow(/options\.seed: got 1\.5; allowed: an integer/);
    expect(() => fp8.encode(values, 'e5m2', { rounding: 'stochastic', seed: -1 })).toThrow(/options\.seed: got -1/);
    expect(() => fp8.encode(values, 'e5m2', { seed: '7' as unknown as number })).toThrow(/options\.seed: got "7"/);
    expect(() => fp8.encode(values, 'e5m2', { saturate: 'yes' as unknown as boolean })).toThrow(/options\.saturate/);
    expect(() => fp8.encode(values, 'e5m2', {}, new Uint8Array(3))).toThrow(
      /out: got a Uint8Array of length 3; allowed: a Uint8Array of length 4/,
    );
    expect(() => fp8.decode(new Uint8Array(4), 'e5m2', new Float32Array(5))).toThrow(/out: got a Float32Array of length 5/);
    expect(() => fp8.decode(new Uint8Array(4), 'fp8' as Fp8Format)).toThrow(/format: got "fp8"/);
    expect(() => fp8.decode([1] as unknown as Uint8Array, 'e5m2')).toThrow(/bytes: got \[1\]; allowed: a Uint8Array/);
    expect(() => fp8.encodeScaled(values, '2' as unknown as number, 'e5m2')).toThrow(/scale: got "2"/);
  });
});

describe('e8m0', () => {
  it('decodes code c to 2^(c - 127) and 0xFF to NaN', () => {
    const values = e8m0.decode(Uint8Array.from({ length: 256 }, (_, code) => code));
    for (let code = 0; code < 255; code++) expect(values[code]).toBe(2 ** (code - 127));
    expect(values[255]).toBeNaN();
    expect(E8M0_FORMAT.max).toBe(values[254]);
    expect(E8M0_FORMAT.minNormal).toBe(values[0]);
  });

  it('encodes powers of two exactly and round-trips every code', () => {
    const codes = Uint8Array.from({ length: 255 }, (_, code) => code);
    expect(Array.from(e8m0.encode(e8m0.decode(codes)))).toEqual(Array.from(codes));
    expect(Array.from(e8m0.encode(e8m0.decode(codes), { rounding: 'ceil' }))).toEqual(Array.from(codes));
  });

  it('takes floor(log2 x) or ceil(log2 x) of other values, clamped to its range', () => {
    const values = new Float32Array([3, 0.75, 1000, 2 ** -130, 2 ** -127 * 1.5, 3e38, 0, -0]);
    expect(Array.from(e8m0.encode(values))).toEqual([128, 126, 136, 0, 0, 254, 0, 0]);
    expect(Array.from(e8m0.encode(values, { rounding: 'ceil' }))).toEqual([129, 127, 137, 0, 1, 254, 0, 0]);
  });

  it('sends NaN, +inf and negative values to NaN (0xFF)', () => {
    expect(Array.from(e8m0.encode(new Float32Array([Number.NaN, Infinity, -Infinity, -2])))).toEqual([255, 255, 255, 255]);
  });

  it('rejects bad input', () => {
    expect(() => e8m0.encode(new Float32Array(1), { rounding: 'nearest-even' as 'floor' })).toThrow(
      /options\.rounding: got "nearest-even"; allowed: 'floor' or 'ceil'/,
    );
    expect(() => e8m0.fromExponent(128)).toThrow(/exponent: got 128; allowed: an integer in \[-127, 127\]/);
    expect(e8m0.fromExponent(-3)).toBe(124);
  });
});
