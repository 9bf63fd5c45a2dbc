// bf16 and f16 codecs against independent value-based references (nearest by distance, ties to the even code).
import { describe, expect, it } from 'vitest';
import { BF16_FORMAT, bf16, F16_FORMAT, f16, OctetArgumentError } from '../src/index.js';
import { seededUint32 } from './helpers/fp8-inputs.js';

/** A 16-bit format described by the values of its non-negative codes 0..maxCode, plus the step past max (what overflows to inf). */
interface SixteenBitReference {
  readonly values: Float64Array;
  readonly maxCode: number;
}

function bf16Reference(): SixteenBitReference {
  // bf16 is the top half of an f32: code c stands for the f32 whose bits are c << 16.
  const word = new Float32Array(1);
  const bits = new Uint32Array(word.buffer);
  const values = new Float64Array(0x7f80 + 1);
  for (let code = 0; code <= 0x7f7f; code++) {
    bits[0] = code << 16;
    values[code] = word[0]!;
  }
  values[0x7f80] = 2 ** 128; // one step past max: where IEEE rounding overflows to inf
  return { values, maxCode: 0x7f7f };
}

function f16Reference(): SixteenBitReference {
  // IEEE binary16 from its definition, in integers times powers of two.
  const values = new Float64Array(0x7c00 + 1);
  for (let code = 0; code <= 0x7c00; code++) {
    const exponent = code >> 10;
    const mantissa = code & 0x3ff;
    values[code] = exponent === 0 ? mantissa * 2 ** -24 : (1024 + mantissa) * 2 ** (exponent - 25);
  }
  return { values, maxCode: 0x7bff };
}

/** Reference code of x: NaN → 'NaN', overflow → ±inf, otherwise the nearest value, ties to even. */
function referenceCode(reference: SixteenBitReference, x: number): number | 'NaN' {
  if (Number.isNaN(x)) return 'NaN';
  const { values } = reference;
  const magnitude = Math.abs(x);
  const last = values.length - 1;
  let code: number;
  if (magnitude >= values[last]!) {
    code = last;
  } else {
    let low = 0;
    let high = last;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (values[middle]! <= magnitude) low = middle;
      else high = middle;
    }
    const below = magnitude - values[low]!;
    const above = values[high]! - magnitude;
    code = below < above ? low : above < below ? high : low % 2 === 0 ? low : high;
  }
  // code `last` is the infinity code in both formats (0x7f80, 0x7c00).
  return x < 0 || Object.is(x, -0) ? code | 0x8000 : code;
}

/** f32 inputs: every top half with assorted low halves (zero, exact ties, either side of ties, random). */
function sixteenBitInputs(tieBit: number): Float32Array {
  const lows = [0, tieBit, tieBit - 1, tieBit + 1, 2 * tieBit, 2 * tieBit + tieBit, 1, 0xffff];
  const random = seededUint32(31);
  const values = new Float32Array(65536 * (lows.length + 1));
  const bits = new Uint32Array(values.buffer);
  let i = 0;
  for (let high = 0; high < 65536; high++) {
    for (const low of lows) bits[i++] = ((high << 16) | (low & 0xffff)) >>> 0;
    bits[i++] = ((high << 16) | (random() & 0xffff)) >>> 0;
  }
  return values;
}

function expectMatchesReference(codes: Uint16Array, inputs: Float32Array, reference: SixteenBitReference): void {
  const wrong: string[] = [];
  for (let i = 0; i < inputs.length && wrong.length < 5; i++) {
    const want = referenceCode(reference, inputs[i]!);
    const got = codes[i]!;
    const isNaNCode = (got & 0x7fff) > reference.values.length - 1;
    if (want === 'NaN' ? !isNaNCode : got !== want)
      wrong.push(`x=${inputs[i]}: got 0x${got.toString(16)}, want ${want === 'NaN' ? 'NaN' : `0x${want.toString(16)}`}`);
  }
  expect(wrong).toEqual([]);
}

describe('bf16', () => {
  const reference = bf16Reference();

  it('rounds to nearest, ties to even, overflowing to ±inf, on every top half × assorted low halves', () => {
    // bf16 keeps the top 16 bits, so the tie bit is bit 15.
    const inputs = sixteenBitInputs(0x8000);
    expectMatchesReference(bf16.encode(inputs), inputs, reference);
  });

  it('decodes every code exactly and round-trips it', () => {
    const codes = Uint16Array.from({ length: 65536 }, (_, code) => code);
    const values = bf16.decode(codes);
    const again = bf16.encode(values);
    for (let code = 0; code < 65536; code++) {
      const magnitude = code & 0x7fff;
      if (magnitude > 0x7f80) {
        expect(values[code]).toBeNaN();
        expect(again[code]! & 0x7fff).toBeGreaterThan(0x7f80);
      } else {
        const expected = magnitude === 0x7f80 ? Infinity : reference.values[magnitude]!;
        expect(Object.is(values[code], code & 0x8000 ? -expected : expected), `code 0x${code.toString(16)}`).toBe(true);
        expect(again[code]).toBe(code);
      }
    }
  });

  it('describes its format', () => {
    expect(BF16_FORMAT.max).toBe(reference.values[0x7f7f]);
    expect(BF16_FORMAT.minSubnormal).toBe(reference.values[1]);
  });
});

describe('f16', () => {
  const reference = f16Reference();

  it('rounds to nearest, ties to even, overflowing to ±inf, on every top half × assorted low halves', () => {
    // f16 keeps 10 mantissa bits, so in the normal range the tie bit is bit 12.
    const inputs = sixteenBitInputs(0x1000);
    expectMatchesReference(f16.encode(inputs), inputs, reference);
  });

  it('rounds every midpoint between neighbouring values, and one ulp either side, as the reference does', () => {
    const points: number[] = [];
    const word = new Float32Array(1);
    const bits = new Int32Array(word.buffer);
    for (let code = 0; code < reference.values.length - 1; code++) {
      const midpoint = (reference.values[code]! + reference.values[code + 1]!) / 2;
      if (Math.fround(midpoint) !== midpoint) throw new Error(`midpoint ${midpoint} is not an f32`);
      for (const signed of [midpoint, -midpoint]) {
        word[0] = signed;
        const centre = bits[0]!;
        for (const delta of [-1, 0, 1]) {
          bits[0] = centre + delta;
          points.push(word[0]!);
        }
      }
    }
    const inputs = new Float32Array(points);
    expectMatchesReference(f16.encode(inputs), inputs, reference);
  });

  it('decodes every code exactly and round-trips it', () => {
    const codes = Uint16Array.from({ length: 65536 }, (_, code) => code);
    const values = f16.decode(codes);
    const again = f16.encode(values);
    for (let code = 0; code < 65536; code++) {
      const magnitude = code & 0x7fff;
      if (magnitude > 0x7c00) {
        expect(values[code]).toBeNaN();
        expect(again[code]! & 0x7fff).toBeGreaterThan(0x7c00);
      } else {
        const expected = magnitude === 0x7c00 ? Infinity : reference.values[magnitude]!;
        expect(Object.is(values[code], code & 0x8000 ? -expected : expected), `code 0x${code.toString(16)}`).toBe(true);
        expect(again[code]).toBe(code);
      }
    }
  });

  it('describes its format', () => {
    expect([F16_FORMAT.max, F16_FORMAT.minNormal, F16_FORMAT.minSubnormal]).toEqual([
      reference.values[0x7bff],
      reference.values[0x400],
      reference.values[1],
    ]);
  });

  const Float16 = (globalThis as { Float16Array?: new (values: ArrayLike<number>) => ArrayLike<number> & { buffer: ArrayBuffer } })
    .Float16Array;
  it.skipIf(Float16 === undefined)('agrees with Float16Array (where the runtime has it)', () => {
    const inputs = sixteenBitInputs(0x1000);
    const native = new Uint16Array(new Float16!(inputs).buffer);
    const ours = f16.encode(inputs);
    for (let i = 0; i < inputs.length; i++) {
      if (Number.isNaN(inputs[i])) continue;
      expect(ours[i]).toBe(native[i]);
    }
  });
});

describe.each([
  ['bf16', bf16],
  ['f16', f16],
] as const)('%s arguments', (_name, codec) => {
  it('rejects bad input with OctetArgumentError', () => {
    expect(() => codec.encode([1, 2] as unknown as Float32Array)).toThrow(OctetArgumentError);
    expect(() => codec.encode(new Float32Array(2), { rounding: 'nearest' as 'nearest-even' })).toThrow(/options\.rounding: got "nearest"/);
    expect(() => codec.encode(new Float32Array(2), { rounding: 'stochastic', seed: 0.5 })).toThrow(/options\.seed: got 0\.5/);
    expect(() => codec.encode(new Float32Array(2), {}, new Uint16Array(3))).toThrow(
      /out: got a Uint16Array of length 3; allowed: a Uint16Array of length 2/,
    );
    expect(() => codec.decode(new Uint8Array(2) as unknown as Uint16Array)).toThrow(/codes: got a Uint8Array/);
  });

  it('fills a given output buffer', () => {
    const out = new Uint16Array(3);
    expect(codec.encode(new Float32Array([1, 2, 3]), {}, out)).toBe(out);
    const decoded = new Float32Array(3);
    expect(codec.decode(out, decoded)).toBe(decoded);
    expect(Array.from(decoded)).toEqual([1, 2, 3]);
  });
});
