/** Elementwise kernels: every Unary and Binary op (with broadcasting), Affine, GeluGrad, RoundTo. */
import { Affine, Binary, type BinaryOp, GeluGrad, op, RoundTo, type Tensor, Unary, type UnaryOp } from '@octet/core';
import { type ConformanceContext, ELEMENTWISE, expectSameOutputs } from '../harness.js';
import { normal, uniform } from '../inputs.js';

/** Inputs inside each op's domain, with the special points (0, ±1) where the op has them. */
const UNARY_INPUTS: Record<UnaryOp, () => Float32Array> = {
  neg: () => normal(37, 1, 3),
  exp: () => uniform(37, 2, -8, 8),
  log: () => uniform(37, 3, 0.01, 100),
  sqrt: () => uniform(37, 4, 0, 100),
  rsqrt: () => uniform(37, 5, 0.01, 100),
  tanh: () => Float32Array.from([...normal(33, 6, 3), 0, 1e-4, 9, -9]),
  sigmoid: () => Float32Array.from([...normal(33, 7, 4), 0, 20, -20, 1e-3]),
  relu: () => Float32Array.from([...normal(35, 8), 0, -0]),
  gelu: () => Float32Array.from([...normal(33, 9, 3), 0, 6, -6, 1e-3]),
  square: () => normal(37, 10, 10),
  abs: () => Float32Array.from([...normal(35, 11), 0, -0]),
  reciprocal: () => Float32Array.from([...uniform(35, 12, 0.01, 50), -3, 0.5]),
  sign: () => Float32Array.from([...normal(34, 13), 0, -0, 1e-30]),
  step: () => Float32Array.from([...normal(34, 14), 0, -0, 1e-30]),
};

const BINARY_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'];

/** [a shape, b shape] pairs covering equal shapes, a scalar and broadcasting on either side. */
const BROADCASTS: [number[], number[]][] = [
  [
    [3, 5],
    [3, 5],
  ],
  [[2, 3, 4], []],
  [[], [2, 3]],
  [[2, 3, 4], [4]],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [
    [2, 1, 4],
    [1, 3, 1],
  ],
  [[5], [2, 3, 5]],
  [
    [7, 1],
    [1, 9],
  ],
];

function operands(op: BinaryOp, aShape: number[], bShape: number[], seed: number): [Float32Array, Float32Array] {
  const na = aShape.reduce((p, d) => p * d, 1);
  const nb = bShape.reduce((p, d) => p * d, 1);
  if (op === 'pow') return [uniform(na, seed, 0.1, 4), uniform(nb, seed + 1, -3, 3)];
  if (op === 'div') return [normal(na, seed, 3), uniform(nb, seed + 1, 0.5, 4).map((v, i) => (i % 2 ? -v : v))];
  return [normal(na, seed, 3), normal(nb, seed + 1, 3)];
}

export function defineElementwiseCases(ctx: ConformanceContext): void {
  for (const [name, inputs] of Object.entries(UNARY_INPUTS) as [UnaryOp, () => Float32Array][]) {
    ctx.test(`Unary ${name}`, [Unary], async () => {
      const values = inputs();
      await expectSameOutputs(ctx, () => unaryOp(name, op.tensor(values, [values.length])), ELEMENTWISE);
    });
  }
  ctx.test('Unary on a rank-3 tensor and on a scalar', [Unary], async () => {
    const values = normal(24, 15);
    await expectSameOutputs(ctx, () => [op.tanh(op.tensor(values, [2, 3, 4])), op.exp(op.scalar(0.5))], ELEMENTWISE);
  });

  for (const name of BINARY_OPS) {
    ctx.test(`Binary ${name} with broadcasting`, [Binary], async () => {
      let seed = 20;
      for (const [aShape, bShape] of BROADCASTS) {
        const [a, b] = operands(name, aShape, bShape, seed++);
        await expectSameOutputs(
          ctx,
          () => binaryOp(name, op.tensor(a, aShape), op.tensor(b, bShape)),
          ELEMENTWISE,
          `[${aShape}] ${name} [${bShape}]`,
        );
      }
    });
  }

  ctx.test('Affine', [Affine], async () => {
    const values = normal(50, 30, 5);
    await expectSameOutputs(
      ctx,
      () => [op.affine(op.tensor(values, [5, 10]), -1.5, 0.25), op.affine(op.tensor(values, [50]), 1 / 3, 0)],
      ELEMENTWISE,
    );
  });

  ctx.test('GeluGrad', [GeluGrad], async () => {
    const x = Float32Array.from([...normal(45, 31, 3), 0, 6, -6, 10, -10]);
    const dy = normal(50, 32);
    await expectSameOutputs(ctx, () => op.geluGrad(op.tensor(dy, [5, 10]), op.tensor(x, [5, 10])), ELEMENTWISE);
  });

  for (const format of ['bf16', 'f16'] as const) {
    ctx.test(`RoundTo ${format}: ties to even, overflow, subnormals, NaN and inf (exact)`, [RoundTo], async () => {
      const ties =
        format === 'bf16'
          ? [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.3961e38, 3.4e38]
          : [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519, 65520, 1e5, 2 ** -25, 2 ** -24 * 1.5, 6e-8, 1e-9];
      const values = Float32Array.from([...ties, ...ties.map((v) => -v), 0, -0, Number.NaN, Infinity, -Infinity, ...normal(40, 33, 100)]);
      await expectSameOutputs(ctx, () => op.roundTo(op.tensor(values, [values.length]), format), 'exact');
    });
  }
}

function unaryOp(name: UnaryOp, x: Tensor): Tensor {
  return op[name](x);
}

function binaryOp(name: BinaryOp, a: Tensor, b: Tensor): Tensor {
  return op[name](a, b);
}
