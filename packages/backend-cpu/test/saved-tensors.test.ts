/**
 * The tape keeps what gradients declare and nothing else; FP8-saved activations (COAT) hold the
 * codes a reference computation gives and their gradients are the f32 ones at the decoded values.
 */
import {
  causalAttention,
  checkGradients,
  dequantizeGroups,
  ENGINE,
  fp8,
  geluSavingInput,
  keep,
  memory,
  op,
  quantizeGroups,
  Random,
  RMSNorm,
  recipeByName,
  setBackend,
  swigluSavingInputs,
  type Tensor,
  tidy,
  valueAndGrads,
} from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend()));

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: n }, () => random.normal() * scale);
}

describe('saved tensors', () => {
  it('the forward keeps only what gradients read: exp keeps its output, the mul before it nothing new', () => {
    const x = op.tensor(randomValues(1000, 1), [1000]);
    let held = -1;
    valueAndGrads(() => {
      const before = memory().numBytes;
      // mul reads x (the caller's) and exp its own output: the product itself is released.
      const loss = tidy(() => op.sum(op.exp(op.mul(x, x))));
      held = memory().numBytes - before;
      return loss;
    }, [x]);
    expect(held).toBe(4000 + 4); // exp's output and the loss
    x.dispose();
  });

  it('saved tensors are released once backward has run, and a step leaves no live bytes behind', () => {
    const x = op.tensor(randomValues(64, 2), [8, 8]);
    const before = memory().numBytes;
    const { value, grads } = valueAndGrads(() => op.sum(op.softmax(op.matMul(x, x))), [x]);
    expect(memory().numBytes - before).toBe(4 + 64 * 4); // the value and one gradient
    value.dispose();
    grads[0]!.dispose();
    expect(memory().numBytes).toBe(before);
    x.dispose();
  });

  it('a gradient reading a forward tensor its op did not save fails, naming the tensor and why', () => {
    const x = op.tensor([1, 2, 3], [3]);
    const w = op.tensor([1, 1, 1], [3]);
    const run = () =>
      valueAndGrads(
        () =>
          // The op runs in a scope of its own, as a module's forward does.
          tidy(() =>
            ENGINE.customOp([x], () => {
              const y = op.mul(x, w);
              // Not saved: the forward's scope frees it, so backward cannot read it.
              const scratch = op.exp(x);
              return { output: op.sum(y), backward: (dy) => [op.mul(op.mul(dy, w), scratch)] };
            }),
          ),
        [x],
      );
    expect(run).toThrow(/input of Binary: Tensor\(float32, \[3\]\) was already disposed/);
    // A declared gradient sees an unsaved input as a released handle: add's backward reads no values.
    const released = valueAndGrads(() => op.sum(op.add(x, w)), [x]);
    expect(Array.from(released.grads[0]!.dataSync())).toEqual([1, 1, 1]);
  });

  it('tensors the caller holds stay readable after the step; a disposed one is an error naming it', () => {
    const x = op.tensor(randomValues(16, 3), [4, 4]);
    let kept: Tensor | null = null;
    let scoped: Tensor | null = null;
    valueAndGrads(() => {
      kept = keep(op.tanh(x));
      scoped = op.tanh(x);
      return op.sum(op.mul(kept, scoped));
    }, [x]);
    expect(x.isDisposed).toBe(false);
    expect(kept!.dataSync()).toEqual(op.tanh(x).dataSync());
    expect(() => scoped!.dataSync()).toThrow(/dataSync\(\): Tensor\(float32, \[4, 4\]\) was already disposed/);
    for (const t of [x, kept!]) t.dispose();
  });
});

describe('FP8 activations (e4m3, one scale per 1×16 group)', () => {
  it("the saved codes are the host codec's codes of x · (448 / group amax)", () => {
    const values = randomValues(4 * 48, 4, 3);
    values[5] = 0;
    values.fill(0, 16, 32); // an all-zero group
    const { codes, scales } = tidy(() => quantizeGroups(op.tensor(values, [4, 48])));
    const expectedScales = new Float32Array(12);
    const scaled = new Float32Array(values.length);
    for (let g = 0; g < 12; g++) {
      let amax = 0;
      for (let i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(values[g * 16 + i]!));
      expectedScales[g] = Math.fround(448 / Math.max(amax, 2 ** -100));
      for (let i = 0; i < 16; i++) scaled[g * 16 + i] = Math.fround(values[g * 16 + i]! * expectedScales[g]!);
    }
    // f32 division is within one step of exact on every backend (the kernel contract); the codes
    // are exactly the host codec's for the scales the kernel chose.
    const got = scales.dataSync();
    for (let g = 0; g < 12; g++) expect(Math.abs(got[g]! - expectedScales[g]!)).toBeLessThanOrEqual(expectedScales[g]! * 2 ** -23);
    for (let i = 0; i < values.length; i++) scaled[i] = Math.fround(values[i]! * got[Math.floor(i / 16)]!);
    expect(Array.from(codes.dataSync())).toEqual(Array.from(fp8.encode(scaled, 'e4m3fn')));
    // Each group's amax element comes back within the two divisions' rounding (448 is an e4m3 code).
    const decoded = dequantizeGroups(codes, scales, [4, 48]).dataSync();
    for (let g = 0; g < 12; g++) {
      const group = Array.from(values.subarray(g * 16, g * 16 + 16));
      const amax = Math.max(...group.map(Math.abs));
      const at = group.findIndex((v) => Math.abs(v) === amax);
      expect(Math.abs(decoded[g * 16 + at]! - group[at]!)).toBeLessThanOrEqual(amax * 2 ** -22);
    }
  });

  it('an op saving FP8 activations holds 1.25 bytes an element, and its gradient is the f32 one at the decoded input', () => {
    const values = randomValues(8 * 64, 5);
    const x = op.tensor(values, [8, 64]);
    const dy = op.tensor(randomValues(8 * 64, 6), [8, 64]);
    let held = -1;
    const grad = (storage: 'f32' | 'fp8') =>
      valueAndGrads(() => {
        const before = memory().numBytes;
        const y = tidy(() => geluSavingInput(x, storage));
        held = memory().numBytes - before - y.size * 4;
        return op.sum(op.mul(y, dy));
      }, [x]).grads[0]!;
    const viaFp8 = grad('fp8').dataSync();
    expect(held).toBe(8 * 64 * 1.25);
    const decoded = tidy(() => {
      const { codes, scales } = quantizeGroups(x);
      return dequantizeGroups(codes, scales, x.shape);
    });
    expect(Array.from(viaFp8)).toEqual(Array.from(op.geluGrad(dy, decoded).dataSync()));
    grad('f32');
    expect(held).toBe(0); // x itself, which its caller holds anyway
  });

  it.each([
    ['RMSNorm with a gain', (x: Tensor, storage: 'f32' | 'fp8') => new RMSNorm(32, { activations: storage }).apply(x)],
    ['GELU', (x: Tensor, storage: 'f32' | 'fp8') => geluSavingInput(x, storage)],
    ['SwiGLU', (x: Tensor, storage: 'f32' | 'fp8') => swigluSavingInputs(x, op.mulScalar(x, 0.5), storage)],
  ])('%s: gradients match central differences (exactly in f32 storage, within FP8 rounding in FP8)', (_, f) => {
    const input = [{ values: randomValues(4 * 32, 7), shape: [4, 32] }];
    expect(checkGradients((x) => f(x, 'f32'), input).maxError).toBeLessThan(2e-3);
    // e4m3 keeps 3 mantissa bits: a decoded input is off by up to 1/16 of itself.
    const fp8Error = checkGradients((x) => f(x, 'fp8'), input).maxError;
    expect(fp8Error).toBeLessThan(0.15);
    expect(fp8Error).toBeGreaterThan(1e-4); // the FP8 path really decodes FP8
  });

  it('causal attention: gradients match central differences; saving or recomputing the probabilities gives the same f32 gradients', () => {
    const shape = [2, 2, 16, 16];
    const inputs = [0, 1, 2].map((i) => ({ values: randomValues(2 * 2 * 16 * 16, 10 + i), shape }));
    const attention = (storage: 'f32' | 'fp8', recompute: boolean) => (q: Tensor, k: Tensor, v: Tensor) =>
      causalAttention(q, k, v, { scale: 0.25, activations: storage, recomputeProbabilities: recompute });
    expect(checkGradients(attention('f32', true), inputs).maxError).toBeLessThan(2e-3);
    expect(checkGradients(attention('fp8', true), inputs).maxError).toBeLessThan(0.15);
    const gradsOf = (recompute: boolean) =>
      tidy(() => {
        const xs = inputs.map(({ values }) => op.tensor(values, shape));
        const { grads } = valueAndGrads(() => op.sum(op.square(attention('f32', recompute)(xs[0]!, xs[1]!, xs[2]!))), xs);
        return grads.map((g) => Array.from(g.dataSync()));
      });
    expect(gradsOf(true)).toEqual(gradsOf(false));
  });

  it('a recipe that cannot save FP8 activations says which can', () => {
    expect(() => recipeByName('f32', { activations: 'fp8' })).toThrow(
      /FP8 activations need an FP8 recipe: unitScaling, delayed or current/,
    );
    expect(() => recipeByName('unitScaling', { activations: 'f16' as 'f32' })).toThrow(
      /recipe.activations: got "f16"; allowed: "f32", "fp8"/,
    );
  });
});
