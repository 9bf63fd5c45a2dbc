/** FP8 kernels: Quantize and Dequantize bit-exact for every format, and ScaleFromAmax. */
import { Dequantize, FP8_FORMATS, type Fp8Format, fp8, op, Quantize, ScaleFromAmax } from '@octet/core';
import { expect } from 'vitest';
import { type ConformanceContext, ELEMENTWISE, expectClose, expectSameOutputs } from '../harness.js';
import { normal, ulpStep } from '../inputs.js';

const FORMATS = Object.keys(FP8_FORMATS) as Fp8Format[];

/**
 * Values that probe every rounding rule of `format`: each finite code's value, each midpoint between
 * neighbouring codes (a tie, rounded to even) and one f32 step either side of it, ±0, ±inf, NaN,
 * overflow around ±max, underflow around the smallest subnormal, and random values across the range.
 */
export function edgeValues(format: Fp8Format): Float32Array {
  const info = FP8_FORMATS[format];
  const codes = new Uint8Array(128).map((_, i) => i);
  const positives = [...fp8.decode(codes, format)].filter((v) => Number.isFinite(v));
  const values: number[] = [0, -0, Number.NaN, Infinity, -Infinity];
  for (let i = 0; i < positives.length; i++) {
    const v = positives[i]!;
    values.push(v, -v);
    const next = positives[i + 1];
    if (next !== undefined && next > v) {
      const mid = (v + next) / 2;
      values.push(mid, -mid, ulpStep(mid, 1), ulpStep(mid, -1), -ulpStep(mid, 1));
    }
  }
  // One grid step past max lies at max + 2^(exponent of max - mantissa bits).
  const step = 2 ** (Math.floor(Math.log2(info.max)) - info.mantissaBits);
  for (const v of [info.max + step / 2, info.max + step, info.max + 1.5 * step, info.max * 2, 1e30, 3.4e38]) {
    values.push(v, -v, ulpStep(v, 1), ulpStep(v, -1));
  }
  for (const v of [info.minSubnormal / 2, info.minSubnormal / 4, info.minSubnormal * 0.75, 1e-30]) {
    values.push(v, -v, ulpStep(v, 1), ulpStep(v, -1));
  }
  values.push(...normal(256, 7, info.max / 8));
  return Float32Array.from(values);
}

export function defineFp8Cases(ctx: ConformanceContext): void {
  for (const format of FORMATS) {
    for (const saturate of [true, false]) {
      for (const scale of [1, 0.375]) {
        const title = `Quantize ${format} ${saturate ? 'saturating' : 'non-saturating'}, scale ${scale}: bit-exact on edge values`;
        ctx.test(title, [Quantize], async () => {
          const values = edgeValues(format);
          const [actual] = await expectSameOutputs(
            ctx,
            () => op.quantizeTensor(op.tensor(values, [values.length]), op.scalar(scale), format, saturate),
            'exact',
          );
          // The reference itself is core's codec.
          expectClose(actual!, fp8.encodeScaled(values, scale, format, { saturate }), 'exact', "core's fp8.encodeScaled");
        });
      }
    }
    ctx.test(`Quantize ${format}: odd lengths and a 2-D shape`, [Quantize], async () => {
      for (const shape of [[1], [3], [5], [3, 7]]) {
        const values = normal(
          shape.reduce((p, d) => p * d, 1),
          11,
          4,
        );
        await expectSameOutputs(ctx, () => op.quantizeTensor(op.tensor(values, shape), op.scalar(8), format), 'exact', `shape [${shape}]`);
      }
    });
    ctx.test(`Dequantize ${format}: all 256 codes, bit-exact with scale 1`, [Dequantize], async () => {
      const codes = new Uint8Array(256).map((_, i) => i);
      const [actual] = await expectSameOutputs(ctx, () => op.dequantizeTensor(op.tensor(codes, [16, 16]), op.scalar(1), format), 'exact');
      expectClose(actual!, fp8.decode(codes, format), 'exact', "core's fp8.decode");
    });
    ctx.test(`Dequantize ${format}: all 256 codes, scale 0.3 (up to the f32 division)`, [Dequantize], async () => {
      const codes = new Uint8Array(255).map((_, i) => i + 1);
      await expectSameOutputs(ctx, () => op.dequantizeTensor(op.tensor(codes, [255]), op.scalar(0.3), format), ELEMENTWISE);
    });
  }
  ctx.test('Quantize then Dequantize round-trips the FP8 grid', [Quantize, Dequantize], async () => {
    const values = fp8.decode(
      new Uint8Array(127).map((_, i) => i),
      'e4m3fn',
    );
    await expectSameOutputs(
      ctx,
      () => op.dequantizeTensor(op.quantizeTensor(op.tensor(values, [127]), op.scalar(2), 'e4m3fn'), op.scalar(2), 'e4m3fn'),
      'exact',
    );
  });

  const histories: [string, number[]][] = [
    ['ordinary', [1.5, 3, 2.25]],
    ['first entry largest', [7, 0.5, 1]],
    ['all zero', [0, 0, 0]],
    ['infinite', [Infinity, 1]],
    ['NaN', [Number.NaN, 1]],
    ['tiny (scale overflows f32)', [1e-38, 1e-39]],
    ['one entry', [0.01]],
  ];
  ctx.test('ScaleFromAmax: max / most_recent, margins, power of two, zero / inf / NaN amax', [ScaleFromAmax], async () => {
    for (const [name, history] of histories) {
      for (const reduce of ['max', 'most_recent'] as const) {
        for (const margin of [0, 2]) {
          for (const powerOfTwo of [false, true]) {
            for (const fp8Max of [448, 57344]) {
              const attrs = { fp8Max, margin, reduce, powerOfTwo };
              const [actual] = await expectSameOutputs(
                ctx,
                () => op.scaleFromAmax(op.tensor(Float32Array.from(history), [history.length]), attrs),
                'exact',
                `${name} ${JSON.stringify(attrs)}`,
              );
              expect(actual!.length).toBe(1);
            }
          }
        }
      }
    }
  });

  ctx.test('Quantize of a scale computed on the device (ScaleFromAmax → Quantize)', [ScaleFromAmax, Quantize], async () => {
    const values = normal(100, 5, 30);
    await expectSameOutputs(
      ctx,
      () => {
        const amax = op.amax(op.tensor(values, [100]));
        const scale = op.scaleFromAmax(op.reshape(amax, [1]), { fp8Max: 448, margin: 0, reduce: 'max', powerOfTwo: false });
        return op.quantizeTensor(op.tensor(values, [100]), scale, 'e4m3fn');
      },
      'exact',
    );
  });
}
