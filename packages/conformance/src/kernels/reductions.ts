/** Reductions and fused NN kernels: Reduce, Softmax, SoftmaxCrossEntropy, Rope. */
import { Concat, ENGINE, op, Reduce, type ReduceOp, Rope, Slice, Softmax, SoftmaxCrossEntropy, type Tensor } from '@octet/core';
import { type ConformanceContext, expectClose, expectSameOutputs, REDUCTION, runOn } from '../harness.js';
import { integers, normal, sizeOfShape } from '../inputs.js';

const AXIS_SETS: [number[], number[][]][] = [
  [[37], [[0]]],
  [
    [3, 5],
    [[0], [1], [0, 1]],
  ],
  [
    [2, 3, 4],
    [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]],
  ],
  [
    [2, 3, 4, 5],
    [[1, 3], [0, 1, 2, 3], [3]],
  ],
  [[1, 300], [[1]]],
];

function reduce(x: Tensor, reduceOp: ReduceOp, axes: number[], keepDims: boolean): Tensor {
  return ENGINE.runKernel(Reduce, { x }, { op: reduceOp, axes, keepDims });
}

function rope(x: Tensor, base: number, offset: number | number[], inverse: boolean): Tensor {
  return ENGINE.runKernel(Rope, { x }, { base, offset, inverse });
}

export function defineReductionCases(ctx: ConformanceContext): void {
  for (const reduceOp of ['sum', 'max', 'amax'] as const) {
    ctx.test(`Reduce ${reduceOp} over several axis sets, with and without keepDims`, [Reduce], async () => {
      for (const [shape, axisSets] of AXIS_SETS) {
        const values = normal(sizeOfShape(shape), shape.length, 3);
        for (const axes of axisSets) {
          for (const keepDims of [false, true]) {
            await expectSameOutputs(
              ctx,
              () => reduce(op.tensor(values, shape), reduceOp, axes, keepDims),
              reduceOp === 'sum' ? REDUCTION : 'exact',
              `[${shape}] axes [${axes}] keepDims ${keepDims}`,
            );
          }
        }
      }
    });
  }
  ctx.test('Reduce max and amax propagate NaN; amax of -inf is inf', [Reduce], async () => {
    const values = Float32Array.from([1, Number.NaN, -3, 2, -Infinity, 0.5, -7, 4]);
    await expectSameOutputs(
      ctx,
      () => [reduce(op.tensor(values, [2, 4]), 'max', [1], false), reduce(op.tensor(values, [2, 4]), 'amax', [1], false)],
      'exact',
    );
  });

  ctx.test('Softmax over the last axis (not causal), including large logits and width 1', [Softmax], async () => {
    for (const [shape, std] of [
      [[3, 5], 1],
      [[2, 3, 7], 30],
      [[4, 1], 1],
      [[2, 300], 5],
    ] as [number[], number][]) {
      const values = normal(sizeOfShape(shape), 90, std);
      await expectSameOutputs(ctx, () => op.softmax(op.tensor(values, shape)), REDUCTION, `[${shape}] std ${std}`);
    }
  });

  ctx.test('Softmax causal, Tq = Tk and Tq < Tk', [Softmax], async () => {
    for (const shape of [
      [2, 4, 4],
      [2, 3, 7],
      [1, 2, 1, 5],
      [1, 1, 1],
    ]) {
      const values = normal(sizeOfShape(shape), 91, 4);
      await expectSameOutputs(ctx, () => op.softmax(op.tensor(values, shape), { causal: true }), REDUCTION, `[${shape}]`);
    }
  });

  ctx.test('SoftmaxCrossEntropy on small and wide rows', [SoftmaxCrossEntropy], async () => {
    for (const [rows, vocab, std] of [
      [5, 11, 1],
      [3, 300, 8],
      [1, 1, 1],
    ] as const) {
      const logits = normal(rows * vocab, 92, std);
      const targets = integers(rows, 93, vocab);
      await expectSameOutputs(
        ctx,
        () => op.softmaxCrossEntropy(op.tensor(logits, [rows, vocab]), op.tensor(targets, [rows])),
        REDUCTION,
        `(${rows}, ${vocab})`,
      );
    }
  });

  ctx.test('Rope with one offset per batch entry equals each entry rotated with its own offset', [Rope, Slice, Concat], async () => {
    const shape = [3, 2, 2, 8];
    const offsets = [4, 0, 17];
    const values = normal(sizeOfShape(shape), 95, 2);
    const [batched, separate] = await runOn(ctx.backend(), () => {
      const x = op.tensor(values, shape);
      const entry = (b: number) => op.slice(x, [b, 0, 0, 0], [1, ...shape.slice(1)]);
      return [
        rope(x, 10000, offsets, false),
        op.concat(
          offsets.map((offset, b) => rope(entry(b), 10000, offset, false)),
          0,
        ),
      ];
    });
    expectClose(batched!, separate!, 'exact', 'per-entry offsets');
  });

  ctx.test('Rope with offsets (one, or one per batch entry), bases and the inverse rotation', [Rope], async () => {
    for (const [shape, base, offset, inverse] of [
      [[1, 2, 3, 4], 10000, 0, false],
      [[2, 3, 5, 8], 10000, 7, false],
      [[2, 3, 5, 8], 500, 123, true],
      [[1, 1, 33, 2], 10000, 0, true],
      [[3, 2, 1, 8], 10000, [0, 41, 7], false],
      [[2, 3, 4, 6], 500, [5, 0], true],
    ] as [number[], number, number | number[], boolean][]) {
      const values = normal(sizeOfShape(shape), 94, 2);
      await expectSameOutputs(
        ctx,
        () => rope(op.tensor(values, shape), base, offset, inverse),
        REDUCTION,
        `[${shape}] base ${base} offset ${offset} inverse ${inverse}`,
      );
    }
  });
}
