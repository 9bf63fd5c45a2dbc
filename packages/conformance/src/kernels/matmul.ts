/** MatMul and ScaledMatMul on shapes that are multiples of no tile, with transposes, batches and shared operands. */
import { type Fp8Format, fp8, MatMul, op, ScaledMatMul } from '@octet/core';
import { type ConformanceContext, expectSameOutputs, REDUCTION } from '../harness.js';
import { normal, sizeOfShape } from '../inputs.js';

/** [M, K, N] */
const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [5, 7, 3],
  [33, 17, 65],
  [2, 70, 1],
];

interface Layout {
  name: string;
  aShape: number[];
  bShape: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/** Every layout of an (M, K) × (K, N) product the contract allows. */
function layouts(M: number, K: number, N: number): Layout[] {
  const result: Layout[] = [];
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const a = transposeA ? [K, M] : [M, K];
      const b = transposeB ? [N, K] : [K, N];
      const t = `${transposeA ? 'Aᵀ' : 'A'}${transposeB ? 'Bᵀ' : 'B'}`;
      result.push({ name: `${t} ${M}×${K}×${N}`, aShape: a, bShape: b, transposeA, transposeB });
      result.push({ name: `${t} batched (3)`, aShape: [3, ...a], bShape: [3, ...b], transposeA, transposeB });
    }
  }
  const a = [M, K];
  const b = [K, N];
  result.push({ name: 'shared rank-2 B', aShape: [2, 2, ...a], bShape: b, transposeA: false, transposeB: false });
  result.push({ name: 'shared rank-2 A', aShape: a, bShape: [3, ...b], transposeA: false, transposeB: false });
  return result;
}

export function defineMatMulCases(ctx: ConformanceContext): void {
  for (const [M, K, N] of SIZES) {
    ctx.test(`MatMul ${M}×${K}×${N}: transposes, batches, shared operands`, [MatMul], async () => {
      for (const l of layouts(M, K, N)) {
        const a = normal(sizeOfShape(l.aShape), M + K, 1);
        const b = normal(sizeOfShape(l.bShape), N + K + 1, 1);
        await expectSameOutputs(
          ctx,
          () => op.matMul(op.tensor(a, l.aShape), op.tensor(b, l.bShape), l.transposeA, l.transposeB),
          REDUCTION,
          l.name,
        );
      }
    });
  }

  const formatPairs: [Fp8Format, Fp8Format][] = [
    ['e4m3fn', 'e4m3fn'],
    ['e4m3fn', 'e5m2'],
    ['e5m2', 'e4m3fnuz'],
    ['e5m2fnuz', 'e4m3fnuz'],
  ];
  for (const [M, K, N] of SIZES) {
    ctx.test(`ScaledMatMul ${M}×${K}×${N}: format pairs, transposes, batches, shared operands`, [ScaledMatMul], async () => {
      let pair = 0;
      for (const l of layouts(M, K, N)) {
        const [aFormat, bFormat] = formatPairs[pair++ % formatPairs.length]!;
        // Codes of values scaled into each format's range (the operand was multiplied by its scale before the cast).
        const a = fp8.encode(normal(sizeOfShape(l.aShape), M + K, 16), aFormat);
        const b = fp8.encode(normal(sizeOfShape(l.bShape), N + K + 1, 0.25), bFormat);
        await expectSameOutputs(
          ctx,
          () =>
            op.scaledMatMul(op.tensor(a, l.aShape), op.tensor(b, l.bShape), op.scalar(16), op.scalar(0.25), {
              aFormat,
              bFormat,
              transposeA: l.transposeA,
              transposeB: l.transposeB,
              alpha: 0.7,
            }),
          REDUCTION,
          `${l.name} ${aFormat}×${bFormat}`,
        );
      }
    });
  }
}
