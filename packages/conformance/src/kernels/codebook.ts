/**
 * Codebook kernels (the compressed optimizers' states): MapQuantize and MapDequantize, exact, on
 * maps shaped like the optimizers' (a signed dynamic-exponent map of 256 entries, 4-bit maps of 16
 * and fewer entries), at every entry, every float32 midpoint and one f32 step either side of it.
 */
import { MapDequantize, MapQuantize, op } from '@octet/core';
import { type ConformanceContext, expectClose, expectSameOutputs } from '../harness.js';
import { normal, ulpStep } from '../inputs.js';

/** A sorted map in the spirit of bitsandbytes' dynamic map: dense near 0, sparse near ±1, with 0 and 1. */
function dynamicLikeMap(entries: number): Float32Array {
  const half = (entries - 2) / 2;
  const values = [0, 1];
  for (let i = 0; i < half; i++) {
    const magnitude = Math.fround(10 ** (-6 * (1 - (i + 1) / (half + 1))) * (0.9 + 0.1 * Math.sin(i)));
    values.push(magnitude, -magnitude);
  }
  return Float32Array.from(values.sort((a, b) => a - b));
}

const MAP_256 = dynamicLikeMap(256);
/** thu-ml's linear map without zero, 1/16 … 1. */
const MAP_16 = Float32Array.from({ length: 16 }, (_, i) => (i + 1) / 16);
/** A map shorter than its code width: codes 7…15 of a 4-bit field have no entry. */
const MAP_7 = Float32Array.from([-1, -0.5, -0.125, 0, 0.25, 0.75, 1]);

/** The contract's code, by counting (the oracle the backends' searches are checked against). */
function countingCode(map: Float32Array, x: number): number {
  let code = 0;
  for (let j = 0; j + 1 < map.length; j++) if (Math.fround(Math.fround(map[j]! + map[j + 1]!) * 0.5) < x) code++;
  return code;
}

/** Every entry, every midpoint and one f32 step either side, ±0, ±inf, NaN, values past the ends, random values. */
function probeValues(map: Float32Array, seed: number): Float32Array {
  const values: number[] = [0, -0, Number.NaN, Infinity, -Infinity, 2 * map[map.length - 1]! + 1, 2 * map[0]! - 1];
  for (let j = 0; j < map.length; j++) {
    values.push(map[j]!);
    if (j + 1 < map.length) {
      const mid = Math.fround(Math.fround(map[j]! + map[j + 1]!) * 0.5);
      values.push(mid, ulpStep(mid, 1), ulpStep(mid, -1));
    }
  }
  values.push(...normal(301, seed, 0.5));
  return Float32Array.from(values);
}

function packed(codes: number[], bits: 4 | 8): Uint8Array {
  if (bits === 8) return Uint8Array.from(codes);
  const bytes = new Uint8Array(Math.ceil(codes.length / 2));
  codes.forEach((c, i) => {
    bytes[i >> 1]! |= c << ((i & 1) * 4);
  });
  return bytes;
}

export function defineCodebookCases(ctx: ConformanceContext): void {
  const cases: [string, Float32Array, 4 | 8][] = [
    ['256-entry dynamic map, 8 bits', MAP_256, 8],
    ['16-entry linear map, 4 bits', MAP_16, 4],
    ['7-entry map, 4 bits', MAP_7, 4],
    ['7-entry map, 8 bits', MAP_7, 8],
  ];
  for (const [name, map, bits] of cases) {
    ctx.test(`MapQuantize, ${name}: exact at entries, midpoints and one step either side`, [MapQuantize], async () => {
      const x = probeValues(map, map.length);
      const [actual] = await expectSameOutputs(
        ctx,
        () => op.mapQuantize(op.tensor(x, [x.length]), op.tensor(map, [map.length]), bits),
        'exact',
      );
      expectClose(
        actual!,
        packed(
          [...x].map((v) => countingCode(map, v)),
          bits,
        ),
        'exact',
        'codes by counting midpoints',
      );
    });
  }
  ctx.test('MapQuantize, 4 bits: odd lengths and a 2-D input', [MapQuantize], async () => {
    for (const shape of [[1], [3], [5, 3], [2, 8]]) {
      const x = normal(
        shape.reduce((p, d) => p * d, 1),
        shape.length,
        0.6,
      );
      await expectSameOutputs(ctx, () => op.mapQuantize(op.tensor(x, shape), op.tensor(MAP_16, [16]), 4), 'exact', `shape [${shape}]`);
    }
  });
  ctx.test('MapDequantize, 8 bits: every code, on a full map and a short one (no entry: NaN)', [MapDequantize], async () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const map of [MAP_256, MAP_7]) {
      const [actual] = await expectSameOutputs(
        ctx,
        () => op.mapDequantize(op.tensor(codes, [256]), op.tensor(map, [map.length]), [16, 16], 8),
        'exact',
      );
      expectClose(
        actual!,
        Float32Array.from(codes, (c) => map[c] ?? Number.NaN),
        'exact',
        'map[code]',
      );
    }
  });
  ctx.test('MapDequantize, 4 bits: every byte, both nibbles, odd lengths', [MapDequantize], async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const map of [MAP_16, MAP_7]) {
      const [actual] = await expectSameOutputs(
        ctx,
        () => op.mapDequantize(op.tensor(bytes, [256]), op.tensor(map, [map.length]), [512], 4),
        'exact',
      );
      const expected = Float32Array.from({ length: 512 }, (_, i) => map[(bytes[i >> 1]! >> ((i & 1) * 4)) & 15] ?? Number.NaN);
      expectClose(actual!, expected, 'exact', 'map[nibble]');
      await expectSameOutputs(
        ctx,
        () => op.mapDequantize(op.tensor(bytes.subarray(0, 3), [3]), op.tensor(map, [map.length]), [5], 4),
        'exact',
        'odd length',
      );
    }
  });
  ctx.test(
    'MapQuantize then MapDequantize on device-computed inputs (block-scaled, as the optimizers run)',
    [MapQuantize, MapDequantize],
    async () => {
      // Each block's absmax is a power of two, so dividing by it is exact on every backend.
      const values = normal(4 * 64, 9, 0.2);
      for (let b = 0; b < 4; b++) values[b * 64 + b] = (b % 2 ? -1 : 1) * 2 ** (b - 1);
      await expectSameOutputs(
        ctx,
        () => {
          const x = op.tensor(values, [4, 64]);
          const scale = op.amax(x, 1, true); // (4, 1): each block's absmax
          const map = op.tensor(MAP_256, [256]);
          return op.mul(op.mapDequantize(op.mapQuantize(op.div(x, scale), map), map, [4, 64]), scale);
        },
        'exact',
      );
    },
  );
}
