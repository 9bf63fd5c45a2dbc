/** Gradients through autograd of composite functions, compared with the reference's gradients. */
import { op, type Tensor, valueAndGrads } from '@octet/core';
import { type ConformanceContext, expectSameOutputs } from '../harness.js';
import { integers, normal } from '../inputs.js';

/** A backward pass chains many kernels; each adds its own rounding. */
const GRADIENT = { rtol: 1e-4, floor: 'max' } as const;

interface Composite {
  title: string;
  inputs: { values: Float32Array; shape: number[] }[];
  f: (...xs: Tensor[]) => Tensor;
}

const COMPOSITES: Composite[] = [
  {
    title: 'MLP: gelu(x @ W1 + b1) @ W2, mean of squares',
    inputs: [
      { values: normal(5 * 6, 1), shape: [5, 6] },
      { values: normal(6 * 9, 2, 0.4), shape: [6, 9] },
      { values: normal(9, 3, 0.1), shape: [9] },
      { values: normal(9 * 4, 4, 0.3), shape: [9, 4] },
    ],
    f: (x, w1, b1, w2) => op.mean(op.square(op.matMul(op.gelu(op.add(op.matMul(x!, w1!), b1!)), w2!))),
  },
  {
    title: 'causal attention with RoPE: sum of (softmax(rope(q) rope(k)ᵀ / √d) v)²',
    inputs: [
      { values: normal(2 * 5 * 4, 5), shape: [1, 2, 5, 4] },
      { values: normal(2 * 5 * 4, 6), shape: [1, 2, 5, 4] },
      { values: normal(2 * 5 * 4, 7), shape: [1, 2, 5, 4] },
    ],
    f: (q, k, v) => {
      const scores = op.mulScalar(op.matMul(op.rope(q!, { offset: 2 }), op.rope(k!, { offset: 2 }), false, true), 0.5);
      return op.sum(op.square(op.matMul(op.softmax(scores, { causal: true }), v!)));
    },
  },
  {
    title: 'RMS norm: x · rsqrt(mean(x², last axis) + ε) · g',
    inputs: [
      { values: normal(3 * 8, 8, 2), shape: [3, 8] },
      { values: normal(8, 9, 1), shape: [8] },
    ],
    f: (x, g) => op.sum(op.mul(op.mul(x!, op.rsqrt(op.addScalar(op.mean(op.square(x!), -1, true), 1e-5))), g!)),
  },
  {
    title: 'embedding gather → linear → softmax cross-entropy',
    inputs: [
      { values: normal(11 * 6, 10), shape: [11, 6] },
      { values: normal(6 * 11, 11, 0.5), shape: [6, 11] },
    ],
    f: (table, w) => {
      const ids = op.tensor(Int32Array.from([3, 3, 10, 0, 7]), [5]);
      const targets = op.tensor(integers(5, 12, 11), [5]);
      return op.mean(op.softmaxCrossEntropy(op.matMul(op.gather(table!, ids), w!), targets));
    },
  },
  {
    title: 'slices, concat, transpose, sum over an axis and division',
    inputs: [{ values: normal(4 * 6, 13), shape: [4, 6] }],
    f: (x) => {
      const left = op.slice(x!, [0, 0], [4, 3]);
      const right = op.slice(x!, [0, 3], [4, 3]);
      const joined = op.transpose(op.concat([op.tanh(left), op.sigmoid(right)], 0), [1, 0]);
      return op.sum(op.div(joined, op.addScalar(op.sum(op.square(joined), 0, true), 1)));
    },
  },
];

export function defineGradientCases(ctx: ConformanceContext): void {
  for (const { title, inputs, f } of COMPOSITES) {
    ctx.test(`gradients of ${title}`, [], async () => {
      await expectSameOutputs(
        ctx,
        () => {
          const xs = inputs.map((x) => op.tensor(x.values, x.shape));
          const { value, grads } = valueAndGrads(() => f(...xs), xs);
          return [value, ...grads];
        },
        GRADIENT,
        'value and gradients',
      );
    });
  }
}
