import { checkGradients, fp8, keep, Linear, op, Random, recipes, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend()));

function randn(n: number, seed: number, std = 1): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: n }, () => random.normal() * std);
}

/** Reference: decode(fp8(a·sa)) @ decode(fp8(b·sb))ᵀ · alpha / (sa·sb), in doubles. */
function referenceScaledMatMulBt(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  sa: number,
  sb: number,
  fa: 'e4m3fn' | 'e5m2',
  fb: 'e4m3fn' | 'e5m2',
  alpha: number,
) {
  const qa = fp8.decode(
    fp8.encode(
      Float32Array.from(a, (v) => v * sa),
      fa,
    ),
    fa,
  );
  const qb = fp8.decode(
    fp8.encode(
      Float32Array.from(b, (v) => v * sb),
      fb,
    ),
    fb,
  );
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += qa[i * K + k]! * qb[j * K + k]!;
      out[i * N + j] = (s * alpha) / (sa * sb);
    }
  return out;
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!;
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThan(rtol);
}

describe('Linear', () => {
  it('under f32 its gradients match central differences', () => {
    const layer = new Linear(6, 5, { recipe: recipes.f32(), initStd: 0.5, seed: 1, alpha: 0.7 });
    const xValues = randn(4 * 6, 2);
    const gradX = checkGradients((x) => layer.apply(x!), [{ values: xValues, shape: [4, 6] }]);
    expect(gradX.maxError).toBeLessThan(2e-2);
    // The weight is a Variable: perturb it in place for the numerical derivative.
    const x = op.tensor(xValues, [4, 6]);
    const loss = () => op.sum(op.square(layer.apply(x)));
    const analytic = valueAndGrads(loss, [layer.weight]).grads[0]!.dataSync();
    const w = layer.weight.dataSync() as Float32Array;
    for (const index of [0, 7, 29]) {
      const at = (delta: number) =>
        tidy(() => {
          const shifted = w.slice();
          shifted[index]! += delta;
          layer.weight.assign(op.tensor(shifted, [5, 6]));
          return loss().dataSync()[0]!;
        });
      const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
      expect(Math.abs(analytic[index]! - numeric) / Math.max(1, Math.abs(numeric))).toBeLessThan(2e-2);
    }
  });

  for (const recipe of [recipes.unitScaling(), recipes.current(), recipes.delayed()]) {
    it(`under ${recipe.name} fprop, dgrad and wgrad are scaled FP8 GEMMs (e4m3 operands forward, e5m2 gradient)`, () => {
      const [M, K, N] = [8, 12, 10];
      const alpha = recipe.name === 'unitScaling' ? 1 / Math.sqrt(K) : 1;
      const layer = new Linear(K, N, { recipe, initStd: recipe.name === 'unitScaling' ? 1 : 0.3, seed: 4, alpha });
      const xValues = randn(M * K, 5);
      const dyValues = randn(M * N, 6, 1e-3);
      const w = layer.weight.dataSync() as Float32Array;
      const x = op.tensor(xValues, [M, K]);
      // The gradient enters through sum(y · dy), so dL/dy = dy exactly.
      let output: Tensor | undefined;
      const { grads } = valueAndGrads(() => {
        output = keep(layer.apply(x));
        return op.sum(op.mul(output, op.tensor(dyValues, [M, N])));
      }, [x, layer.weight]);
      const y = output!.dataSync();
      const amax = (v: Float32Array) => v.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
      // Scales the recipe should have chosen (delayed: the history is empty before the first step → 1).
      // wgrad's match with fp8(x) also shows backward used the saved FP8 input, not the f32 one.
      const scaleOf = (v: Float32Array, max: number, gradient: boolean) =>
        recipe.name === 'current' ? Math.fround(max / amax(v)) : recipe.name === 'unitScaling' ? (gradient ? 8 : 1) : 1;
      const sx = scaleOf(xValues, 448, false);
      const sw = scaleOf(w, 448, false);
      const sdy = scaleOf(dyValues, 57344, true);
      expectClose(y, referenceScaledMatMulBt(xValues, w, M, N, K, sx, sw, 'e4m3fn', 'e4m3fn', alpha), 1e-5);
      // dx = alpha · dy @ W: with B = Wᵀ (K, N) as the "Bᵀ" operand.
      expectClose(
        grads[0]!.dataSync(),
        referenceScaledMatMulBt(dyValues, transpose(w, N, K), M, K, N, sdy, sw, 'e5m2', 'e4m3fn', alpha),
        1e-5,
      );
      // dw = alpha · dyᵀ @ x.
      expectClose(
        grads[1]!.dataSync(),
        referenceScaledMatMulBt(transpose(dyValues, M, N), transpose(xValues, M, K), N, K, M, sdy, sx, 'e5m2', 'e4m3fn', alpha),
        1e-5,
      );
      // And all of them are within FP8 rounding of the exact f32 gradients.
      const exact = (a: Float32Array, b: Float32Array, rows: number, cols: number, inner: number) => {
        const out = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++) {
            let s = 0;
            for (let k = 0; k < inner; k++) s += a[i * inner + k]! * b[j * inner + k]!;
            out[i * cols + j] = s * alpha;
          }
        return out;
      };
      expectClose(y, exact(xValues, w, M, N, K), 0.08);
      expectClose(grads[0]!.dataSync(), exact(dyValues, transpose(w, N, K), M, K, N), 0.2);
      expectClose(grads[1]!.dataSync(), exact(transpose(dyValues, M, N), transpose(xValues, M, K), N, K, M), 0.2);
    });
  }
});

describe('Linear.applyEach', () => {
  const layersFor = (recipe: ReturnType<typeof recipes.f32>, outs: number[], K: number) =>
    outs.map((out, i) => new Linear(K, out, { recipe, initStd: 1, seed: 10 + i, alpha: 1 / Math.sqrt(K) }));

  // unitScaling stacks the layers; the others go layer by layer.
  for (const recipe of [recipes.unitScaling(), recipes.f32(), recipes.delayed()]) {
    it(`in evaluation under ${recipe.name}, gives each layer's own output bit for bit`, () => {
      const K = 128;
      const layers = layersFor(recipe, [128, 128, 128], K);
      for (const layer of layers) layer.training = false;
      for (const rows of [1, 8, 33]) {
        const x = op.tensor(randn(rows * K, rows), [1, rows, K]);
        // Twice each: the backend packs a weight on its second use, and packed sums run in another order.
        const together = [0, 1].map(() => Linear.applyEach(layers, x))[1]!;
        const alone = layers.map((layer) => [0, 1].map(() => layer.apply(x))[1]!);
        for (const [i, output] of together.entries()) {
          expect(output.shape).toEqual([1, rows, 128]);
          expect(output.dataSync(), `${recipe.name}, ${rows} rows, layer ${i}`).toEqual(alone[i]!.dataSync());
        }
      }
    });
  }

  it('follows a weight that changed since the last call', () => {
    const K = 64;
    const layers = layersFor(recipes.unitScaling(), [64, 32], K);
    for (const layer of layers) layer.training = false;
    const x = op.tensor(randn(4 * K, 3), [4, K]);
    Linear.applyEach(layers, x);
    layers[1]!.weight.assign(op.tensor(randn(32 * K, 99), [32, K]));
    expect(Linear.applyEach(layers, x)[1]!.dataSync()).toEqual(layers[1]!.apply(x).dataSync());
  });

  for (const training of [true, false]) {
    it(`under valueAndGrads goes layer by layer, so every weight gets its gradient (training ${training})`, () => {
      const K = 16;
      const layers = layersFor(recipes.unitScaling(), [16, 16], K);
      for (const layer of layers) layer.training = training;
      const x = op.tensor(randn(4 * K, 4), [4, K]);
      const loss = () => op.sum(op.add(...(Linear.applyEach(layers, x) as [Tensor, Tensor])));
      const { grads } = valueAndGrads(loss, [layers[0]!.weight, layers[1]!.weight]);
      for (const grad of grads) expect(grad.dataSync().some((v) => v !== 0)).toBe(true);
    });
  }
});
