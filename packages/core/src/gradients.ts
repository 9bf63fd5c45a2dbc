/**
 * One gradient per kernel, written with ops (tfjs's gradients/ and tinygrad's gradient table in one
 * place). Every backend gets autograd from these without writing backward kernels.
 */
import { ENGINE, tidy } from './engine.js';
import * as K from './kernel-names.js';
import * as op from './ops/ops.js';
import type { GradFunc, GradientConfig, SavedForBackward } from './tape.js';
import type { Tensor } from './tensor.js';

type Attrs<T> = T & Record<string, unknown>;

const unaryGrad: GradFunc = (dy, { inputs, attrs, output: y }) => {
  const x = inputs.x as Tensor;
  const { op: kind } = attrs as Attrs<K.UnaryAttrs>;
  const dx = (): Tensor => {
    switch (kind) {
      case 'neg':
        return op.neg(dy);
      case 'exp':
        return op.mul(dy, y);
      case 'log':
        return op.div(dy, x);
      case 'sqrt':
        return op.div(op.mulScalar(dy, 0.5), y);
      case 'rsqrt':
        return op.mul(dy, op.mulScalar(op.mul(y, op.square(y)), -0.5));
      case 'tanh':
        return op.mul(dy, op.affine(op.square(y), -1, 1));
      case 'sigmoid':
        return op.mul(dy, op.mul(y, op.affine(y, -1, 1)));
      case 'relu':
        return op.mul(dy, op.step(x));
      case 'gelu':
        return op.geluGrad(dy, x);
      case 'square':
        return op.mul(dy, op.mulScalar(x, 2));
      case 'abs':
        return op.mul(dy, op.sign(x));
      case 'reciprocal':
        return op.neg(op.mul(dy, op.square(y)));
      case 'sign':
      case 'step':
        return op.zeros(x.shape);
    }
  };
  return { x: dx };
};

/** What each unary's gradient reads: its input, its output, or neither. */
const UNARY_SAVES: Record<K.UnaryOp, SavedForBackward> = {
  neg: {},
  exp: { output: true },
  log: { inputs: ['x'] },
  sqrt: { output: true },
  rsqrt: { output: true },
  tanh: { output: true },
  sigmoid: { output: true },
  relu: { inputs: ['x'] },
  gelu: { inputs: ['x'] },
  square: { inputs: ['x'] },
  abs: { inputs: ['x'] },
  reciprocal: { output: true },
  sign: {},
  step: {},
};

const binaryGrad: GradFunc = (dy, { inputs, attrs }) => {
  const a = inputs.a as Tensor;
  const b = inputs.b as Tensor;
  const { op: kind } = attrs as Attrs<K.BinaryAttrs>;
  switch (kind) {
    case 'add':
      return { a: () => op.sumToShape(dy, a.shape), b: () => op.sumToShape(dy, b.shape) };
    case 'sub':
      return { a: () => op.sumToShape(dy, a.shape), b: () => op.sumToShape(op.neg(dy), b.shape) };
    case 'mul':
      return { a: () => op.sumToShape(op.mul(dy, b), a.shape), b: () => op.sumToShape(op.mul(dy, a), b.shape) };
    case 'div':
      return {
        a: () => op.sumToShape(op.div(dy, b), a.shape),
        b: () => op.sumToShape(op.neg(op.div(op.mul(dy, a), op.square(b))), b.shape),
      };
    default:
      throw new Error(`Binary op ${kind} has no gradient; use it outside valueAndGrads`);
  }
};

const matMulGrad: GradFunc = (dy, { inputs, attrs }) => {
  const a = inputs.a as Tensor;
  const b = inputs.b as Tensor;
  const { transposeA: tA, transposeB: tB } = attrs as Attrs<K.MatMulAttrs>;
  // C = op(A)·op(B); each case is the textbook rule with the transposes folded into the matmul.
  const da = (): Tensor => (!tA ? op.matMul(dy, b, false, !tB) : tB ? op.matMul(b, dy, true, true) : op.matMul(b, dy, false, true));
  const db = (): Tensor =>
    !tB
      ? tA
        ? op.matMul(a, dy, false, false)
        : op.matMul(a, dy, true, false)
      : tA
        ? op.matMul(dy, a, true, true)
        : op.matMul(dy, a, true, false);
  return { a: () => sumBatch(da(), a.shape), b: () => sumBatch(db(), b.shape) };
};

/** A rank-2 operand shared across batches gets the sum of the per-batch gradients. */
function sumBatch(grad: Tensor, shape: readonly number[]): Tensor {
  if (grad.rank === shape.length) return grad;
  return op.sum(
    grad,
    grad.shape.slice(0, grad.rank - shape.length).map((_, i) => i),
  );
}

const NOTHING: SavedForBackward = {};

const GRADIENTS: [K.KernelName, GradientConfig][] = [
  [K.Unary, { saves: (attrs) => UNARY_SAVES[(attrs as Attrs<K.UnaryAttrs>).op], gradFunc: unaryGrad }],
  [
    K.Binary,
    {
      saves: (attrs) => (['mul', 'div'].includes((attrs as Attrs<K.BinaryAttrs>).op) ? { inputs: ['a', 'b'] } : NOTHING),
      gradFunc: binaryGrad,
    },
  ],
  [K.Affine, { saves: NOTHING, gradFunc: (dy, { attrs }) => ({ x: () => op.mulScalar(dy, (attrs as Attrs<K.AffineAttrs>).scale) }) }],
  [K.RoundTo, { saves: NOTHING, gradFunc: (dy) => ({ x: () => dy }) }],
  [
    K.Transpose,
    {
      saves: NOTHING,
      gradFunc: (dy, { attrs }) => {
        const { perm } = attrs as Attrs<K.TransposeAttrs>;
        const inverse = perm.map((_, i) => perm.indexOf(i));
        return { x: () => op.transpose(dy, inverse) };
      },
    },
  ],
  [
    K.Slice,
    {
      saves: NOTHING,
      gradFunc: (dy, { inputs, attrs }) => {
        const x = inputs.x as Tensor;
        const { begin, size } = attrs as Attrs<K.SliceAttrs>;
        return {
          x: () => {
            // Pad back to x's shape one axis at a time with zeros.
            let grad = dy;
            for (let axis = 0; axis < x.rank; axis++) {
              const before = begin[axis]!;
              const after = x.shape[axis]! - before - size[axis]!;
              if (before === 0 && after === 0) continue;
              const parts: Tensor[] = [];
              const padShape = (n: number) => grad.shape.map((d, i) => (i === axis ? n : d));
              if (before > 0) parts.push(op.zeros(padShape(before)));
              parts.push(grad);
              if (after > 0) parts.push(op.zeros(padShape(after)));
              grad = op.concat(parts, axis);
            }
            return grad;
          },
        };
      },
    },
  ],
  [
    K.Concat,
    {
      saves: NOTHING,
      gradFunc: (dy, { inputs, attrs }) => {
        const xs = inputs.xs as Tensor[];
        const { axis } = attrs as Attrs<K.ConcatAttrs>;
        return {
          xs: () => {
            let offset = 0;
            return xs.map((x) => {
              const begin = x.shape.map((_, i) => (i === axis ? offset : 0));
              offset += x.shape[axis]!;
              return op.slice(dy, begin, x.shape);
            });
          },
        };
      },
    },
  ],
  [
    K.Gather,
    {
      saves: { inputs: ['indices'] },
      gradFunc: (dy, { inputs }) => {
        const table = inputs.table as Tensor;
        const indices = inputs.indices as Tensor;
        const rows = table.shape[0]!;
        const width = table.shape[1]!;
        return { table: () => op.scatterAdd(op.reshape(dy, [indices.size, width]), op.reshape(indices, [indices.size]), rows) };
      },
    },
  ],
  [
    K.Reduce,
    {
      saves: NOTHING,
      gradFunc: (dy, { inputs, attrs }) => {
        const x = inputs.x as Tensor;
        const { op: kind, axes } = attrs as Attrs<K.ReduceAttrs>;
        if (kind !== 'sum') throw new Error(`Reduce ${kind} has no gradient; use it outside valueAndGrads`);
        const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        return { x: () => op.add(op.zeros(x.shape), op.reshape(dy, keptShape)) };
      },
    },
  ],
  [K.MatMul, { saves: { inputs: ['a', 'b'] }, gradFunc: matMulGrad }],
  [
    K.Softmax,
    { saves: { output: true }, gradFunc: (dy, { output: y }) => ({ x: () => op.mul(y, op.sub(dy, op.sum(op.mul(dy, y), -1, true))) }) },
  ],
  [
    K.SoftmaxCrossEntropy,
    {
      saves: { inputs: ['logits', 'targets'] },
      gradFunc: (dy, { inputs }) => {
        const logits = inputs.logits as Tensor;
        const targets = inputs.targets as Tensor;
        return {
          logits: () => {
            // (softmax − one-hot) · dy, each temporary freed as soon as it is read: these are (rows, vocab).
            const difference = tidy(() => op.sub(op.softmax(logits), op.oneHot(targets, logits.shape[1]!)));
            return op.mul(difference, op.reshape(dy, [logits.shape[0]!, 1]));
          },
        };
      },
    },
  ],
  [
    K.Rope,
    {
      saves: NOTHING,
      gradFunc: (dy, { attrs }) => {
        const { base, offset, inverse } = attrs as Attrs<K.RopeAttrs>;
        return { x: () => ENGINE.runKernel(K.Rope, { x: dy }, { base, offset, inverse: !inverse }) };
      },
    },
  ],
];

for (const [kernelName, config] of GRADIENTS) ENGINE.registerGradient(kernelName, config);
