/** Shape and data movement (exact): Transpose, Slice, Concat, Gather, ScatterAdd, OneHot, Fill, Cast. */
import { Cast, Concat, Fill, Gather, OneHot, op, ScatterAdd, Slice, Transpose } from '@octet/core';
import { type ConformanceContext, ELEMENTWISE, expectSameOutputs } from '../harness.js';
import { integers, normal, sizeOfShape } from '../inputs.js';

const TRANSPOSES: [number[], number[]][] = [
  [
    [3, 5],
    [1, 0],
  ],
  [
    [1, 7],
    [1, 0],
  ],
  [
    [2, 3, 4],
    [2, 0, 1],
  ],
  [
    [2, 3, 4],
    [0, 2, 1],
  ],
  [
    [2, 3, 4, 5],
    [0, 2, 1, 3],
  ],
  [
    [2, 3, 4, 5],
    [3, 1, 2, 0],
  ],
  [[4], [0]],
];

const SLICES: [number[], number[], number[]][] = [
  [[10], [3], [5]],
  [
    [4, 6],
    [1, 2],
    [2, 3],
  ],
  [
    [2, 3, 4],
    [1, 0, 2],
    [1, 2, 2],
  ],
  [
    [2, 3, 4, 5],
    [0, 1, 0, 3],
    [2, 2, 4, 1],
  ],
  [
    [3, 4],
    [0, 0],
    [3, 4],
  ],
];

export function defineMovementCases(ctx: ConformanceContext): void {
  ctx.test('Transpose of float32 and int32 tensors, ranks 1 to 4', [Transpose], async () => {
    for (const [shape, perm] of TRANSPOSES) {
      const n = sizeOfShape(shape);
      await expectSameOutputs(
        ctx,
        () => [op.transpose(op.tensor(normal(n, n), shape), perm), op.transpose(op.tensor(integers(n, n, 1000), shape), perm)],
        'exact',
        `[${shape}] perm [${perm}]`,
      );
    }
  });

  ctx.test('Slice of float32 and int32 tensors, ranks 1 to 4', [Slice], async () => {
    for (const [shape, begin, size] of SLICES) {
      const n = sizeOfShape(shape);
      await expectSameOutputs(
        ctx,
        () => [op.slice(op.tensor(normal(n, 40), shape), begin, size), op.slice(op.tensor(integers(n, 41, 99), shape), begin, size)],
        'exact',
        `[${shape}] begin [${begin}] size [${size}]`,
      );
    }
  });

  ctx.test('Concat along every axis, of 1 to 3 tensors', [Concat], async () => {
    const cases: [number[][], number][] = [
      [[[3], [4]], 0],
      [
        [
          [2, 3],
          [2, 2],
          [2, 1],
        ],
        1,
      ],
      [
        [
          [2, 3],
          [1, 3],
        ],
        0,
      ],
      [
        [
          [2, 3, 4],
          [2, 1, 4],
        ],
        1,
      ],
      [
        [
          [2, 3, 1],
          [2, 3, 5],
          [2, 3, 2],
        ],
        2,
      ],
      [[[2, 3]], 0],
    ];
    for (const [shapes, axis] of cases) {
      await expectSameOutputs(
        ctx,
        () => [
          op.concat(
            shapes.map((s, i) => op.tensor(normal(sizeOfShape(s), 50 + i), s)),
            axis,
          ),
          op.concat(
            shapes.map((s, i) => op.tensor(integers(sizeOfShape(s), 60 + i, 50), s)),
            axis,
          ),
        ],
        'exact',
        `shapes ${JSON.stringify(shapes)} axis ${axis}`,
      );
    }
  });

  ctx.test('Gather rows by indices of rank 1 and 2, repeated indices', [Gather], async () => {
    const table = normal(7 * 5, 70);
    await expectSameOutputs(
      ctx,
      () => [
        op.gather(op.tensor(table, [7, 5]), op.tensor(Int32Array.from([6, 0, 3, 3]), [4])),
        op.gather(op.tensor(table, [7, 5]), op.tensor(Int32Array.from([1, 2, 2, 5, 0, 6]), [2, 3])),
      ],
      'exact',
    );
  });

  ctx.test('ScatterAdd with repeated indices', [ScatterAdd], async () => {
    const updates = normal(6 * 4, 71);
    await expectSameOutputs(
      ctx,
      () => [
        op.scatterAdd(op.tensor(updates, [6, 4]), op.tensor(Int32Array.from([0, 3, 3, 1, 4, 3]), [6]), 5),
        op.scatterAdd(op.tensor(updates, [2, 3, 4]), op.tensor(Int32Array.from([2, 2, 0, 1, 2, 6]), [2, 3]), 7),
      ],
      ELEMENTWISE,
    );
  });

  ctx.test('OneHot, out-of-range indices give zero rows', [OneHot], async () => {
    await expectSameOutputs(
      ctx,
      () => [
        op.oneHot(op.tensor(Int32Array.from([0, 4, 2, 2, 9, -1]), [6]), 5),
        op.oneHot(op.tensor(Int32Array.from([1, 0, 2, 1]), [2, 2]), 3),
      ],
      'exact',
    );
  });

  ctx.test('Fill float32 and int32, odd sizes and a scalar', [Fill], async () => {
    await expectSameOutputs(
      ctx,
      () => [op.fill([3, 5], -2.5), op.fill([7], 42, 'int32'), op.fill([], 1.25), op.fill([1, 1, 3], -7, 'int32')],
      'exact',
    );
  });

  ctx.test('Cast float32 → int32 truncates toward zero; int32 → float32', [Cast], async () => {
    const floats = Float32Array.from([0, -0, 0.5, -0.5, 1.999, -1.999, 2.5, -2.5, 1e6 + 0.75, -123456.5, ...normal(20, 80, 1000)]);
    const ints = Int32Array.from([0, 1, -1, 16777217, -16777217, 2147483647, -2147483648, 12345]);
    await expectSameOutputs(
      ctx,
      () => [op.cast(op.tensor(floats, [floats.length]), 'int32'), op.cast(op.tensor(ints, [ints.length]), 'float32')],
      'exact',
    );
  });
}
