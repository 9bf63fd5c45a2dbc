import { CausalSelfAttention, checkGradients, LayerNorm, Mlp, op, Random, RMSNorm, recipes, setBackend, type Tensor } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend()));

function randomInput(shape: number[], seed: number, { positive = false, scale = 1 } = {}) {
  const random = new Random(seed);
  const values = new Float32Array(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < values.length; i++) values[i] = positive ? 0.5 + random.next() * scale : random.normal() * scale;
  return { values, shape };
}

// f32 central differences carry ~1e-3 relative noise; a wrong gradient is off by O(1).
const TOLERANCE = 2e-2;

const cases: [string, (...xs: Tensor[]) => Tensor, ReturnType<typeof randomInput>[]][] = [
  ['neg', op.neg, [randomInput([3, 4], 1)]],
  ['exp', op.exp, [randomInput([3, 4], 2)]],
  ['log', op.log, [randomInput([3, 4], 3, { positive: true })]],
  ['sqrt', op.sqrt, [randomInput([3, 4], 4, { positive: true })]],
  ['rsqrt', op.rsqrt, [randomInput([3, 4], 5, { positive: true })]],
  ['tanh', op.tanh, [randomInput([3, 4], 6)]],
  ['sigmoid', op.sigmoid, [randomInput([3, 4], 7)]],
  ['relu', op.relu, [randomInput([3, 4], 8)]],
  ['gelu', op.gelu, [randomInput([3, 4], 9)]],
  ['silu', op.silu, [randomInput([3, 4], 10)]],
  ['square', op.square, [randomInput([3, 4], 11)]],
  ['abs', op.abs, [randomInput([3, 4], 12)]],
  ['reciprocal', op.reciprocal, [randomInput([3, 4], 13, { positive: true })]],
  ['add (broadcast)', op.add, [randomInput([2, 3, 4], 14), randomInput([4], 15)]],
  ['sub (broadcast)', op.sub, [randomInput([2, 3, 4], 16), randomInput([3, 1], 17)]],
  ['mul (broadcast)', op.mul, [randomInput([2, 3, 4], 18), randomInput([2, 1, 4], 19)]],
  ['div', op.div, [randomInput([3, 4], 20), randomInput([3, 4], 21, { positive: true })]],
  ['affine', (x) => op.affine(x, -1.5, 0.25), [randomInput([5], 22)]],
  ['reshape', (x) => op.reshape(x, [4, 3]), [randomInput([3, 4], 23)]],
  ['transpose', (x) => op.transpose(x, [2, 0, 1]), [randomInput([2, 3, 4], 24)]],
  ['slice', (x) => op.slice(x, [1, 0, 2], [1, 2, 2]), [randomInput([2, 3, 4], 25)]],
  ['concat', (a, b) => op.concat([a!, b!], 1), [randomInput([2, 3], 26), randomInput([2, 2], 27)]],
  ['sum (axes)', (x) => op.sum(x, [0, 2]), [randomInput([2, 3, 4], 28)]],
  ['mean (keepDims)', (x) => op.mean(x, -1, true), [randomInput([2, 3, 4], 29)]],
  ['matMul', (a, b) => op.matMul(a!, b!), [randomInput([5, 6], 30), randomInput([6, 7], 31)]],
  ['matMul Aᵀ', (a, b) => op.matMul(a!, b!, true, false), [randomInput([6, 5], 32), randomInput([6, 7], 33)]],
  ['matMul Bᵀ', (a, b) => op.matMul(a!, b!, false, true), [randomInput([5, 6], 34), randomInput([7, 6], 35)]],
  ['matMul AᵀBᵀ', (a, b) => op.matMul(a!, b!, true, true), [randomInput([6, 5], 36), randomInput([7, 6], 37)]],
  ['matMul batched', (a, b) => op.matMul(a!, b!), [randomInput([2, 5, 6], 38), randomInput([2, 6, 3], 39)]],
  ['matMul shared B', (a, b) => op.matMul(a!, b!), [randomInput([2, 5, 6], 40), randomInput([6, 3], 41)]],
  ['softmax', (x) => op.softmax(x), [randomInput([3, 5], 42)]],
  ['softmax causal', (x) => op.softmax(x, { causal: true }), [randomInput([2, 4, 4], 43)]],
  ['rope', (x) => op.rope(x, { offset: 3 }), [randomInput([1, 2, 3, 4], 44)]],
];

describe('gradients match central differences', () => {
  for (const [name, f, inputs] of cases) {
    it(name, () => {
      const result = checkGradients(f, inputs);
      expect(result.maxError, JSON.stringify(result.worst)).toBeLessThan(TOLERANCE);
    });
  }

  it('RMSNorm and LayerNorm (composed from ops)', () => {
    const rms = new RMSNorm(6);
    const layer = new LayerNorm(6);
    for (const norm of [rms, layer]) {
      const result = checkGradients((x) => norm.apply(x!), [randomInput([3, 6], 49)]);
      expect(result.maxError, JSON.stringify(result.worst)).toBeLessThan(TOLERANCE);
    }
  });

  it('SwiGLU and GELU MLPs under f32', () => {
    for (const activation of ['swiglu', 'gelu'] as const) {
      const mlp = new Mlp({
        dim: 4,
        hidden: 8,
        activation,
        recipe: recipes.f32(),
        seed: 3,
        initStd: 0.5,
        outInitStd: 0.5,
        upAlpha: 1,
        downAlpha: 1,
      });
      const result = checkGradients((x) => mlp.apply(x!), [randomInput([2, 3, 4], 50)]);
      expect(result.maxError, `${activation}: ${JSON.stringify(result.worst)}`).toBeLessThan(TOLERANCE);
    }
  });

  it('causal self-attention with RoPE under f32', () => {
    const attention = new CausalSelfAttention({
      dim: 8,
      heads: 2,
      recipe: recipes.f32(),
      seed: 5,
      initStd: 0.5,
      outInitStd: 0.5,
      linearAlpha: 1,
      scoreScale: 0.5,
      ropeBase: 10000,
    });
    const result = checkGradients((x) => attention.apply(x!), [randomInput([2, 5, 8], 51)]);
    expect(result.maxError, JSON.stringify(result.worst)).toBeLessThan(TOLERANCE);
  });

  it('gather (embedding)', () => {
    const ids = op.tensor(new Int32Array([0, 2, 2, 1]), [2, 2]);
    const result = checkGradients((table) => op.gather(table!, ids), [randomInput([3, 4], 45)]);
    expect(result.maxError).toBeLessThan(TOLERANCE);
  });

  it('softmax cross-entropy', () => {
    const targets = op.tensor(new Int32Array([1, 0, 4]), [3]);
    const result = checkGradients((logits) => op.softmaxCrossEntropy(logits!, targets), [randomInput([3, 5], 46)]);
    expect(result.maxError).toBeLessThan(TOLERANCE);
  });

  it('a wrong gradient is caught', () => {
    // step() has zero gradient, but this function is x itself almost everywhere: the check must fail.
    const result = checkGradients((x) => op.mul(op.step(x), x), [randomInput([8], 47)]);
    expect(result.maxError).toBeLessThan(TOLERANCE);
    const broken = checkGradients((x) => op.add(op.step(x), x), [randomInput([8], 48, { scale: 0.001 })], { epsilon: 0.01 });
    expect(broken.maxError).toBeGreaterThan(TOLERANCE);
  });
});
