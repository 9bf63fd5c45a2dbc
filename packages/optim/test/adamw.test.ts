import { createCpuBackend } from '@octet/backend-cpu';
import { op, setBackend, tidy, Variable, valueAndGrads } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, clipByGlobalNorm, warmupCosine } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend()));

/** An ill-conditioned quadratic: f(w) = Σ c_i · w_i², curvatures spanning 4 decades. */
const CURVATURE = [1e-2, 1e-1, 1, 10, 100];
const loss = (w: Variable) => op.sum(op.mul(op.tensor(CURVATURE, [5]), op.square(w)));

/** AdamW by the textbook, in doubles. */
function referenceAdamW(
  w0: number[],
  steps: number,
  { lr, b1, b2, eps, wd }: { lr: number; b1: number; b2: number; eps: number; wd: number },
) {
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < w.length; i++) {
      const g = 2 * CURVATURE[i]! * w[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      const mHat = m[i]! / (1 - b1 ** t);
      const vHat = v[i]! / (1 - b2 ** t);
      w[i] = w[i]! * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  return w;
}

function run(optimizer: AdamW, w: Variable, steps: number) {
  for (let s = 0; s < steps; s++) tidy(() => optimizer.applyGradients(valueAndGrads(() => loss(w), [w]).grads));
}

describe('AdamW', () => {
  it('matches the textbook update on an ill-conditioned quadratic', () => {
    const w0 = [1, -2, 0.5, 3, -1];
    const w = new Variable('w', op.tensor(w0, [5]));
    const options = { lr: 0.05, b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1 };
    run(new AdamW([w], { lr: options.lr, betas: [options.b1, options.b2], eps: options.eps, weightDecay: options.wd }), w, 50);
    const expected = referenceAdamW(w0, 50, options);
    const actual = w.dataSync();
    for (const [i, e] of expected.entries()) expect(actual[i]).toBeCloseTo(e, 4);
  });

  it('reports 8 bytes of state per parameter', () => {
    const optimizer = new AdamW([new Variable('a', op.zeros([10, 3])), new Variable('b', op.zeros([7]))], { lr: 1 });
    expect(optimizer.stateBytes()).toBe(8 * 37);
  });

  it('resumes bit-identically from its state dict', () => {
    const make = () => new Variable('w', op.tensor([1, -2, 0.5, 3, -1], [5]));
    const straight = make();
    const a = new AdamW([straight], { lr: 0.05 });
    run(a, straight, 20);

    const resumed = make();
    const b = new AdamW([resumed], { lr: 0.05 });
    run(b, resumed, 10);
    const saved = b.stateDict();
    const copies = Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, op.tensor(t.dataSync() as Float32Array, t.shape)]));
    const c = new AdamW([resumed], { lr: 0.05 });
    c.loadStateDict({ step: saved.step, tensors: copies });
    run(c, resumed, 10);
    expect(resumed.dataSync()).toEqual(straight.dataSync());
  });

  it('rejects bad hyper-parameters and mismatched state, naming the field', () => {
    const w = new Variable('w', op.zeros([2]));
    expect(() => new AdamW([w], { lr: 0 })).toThrow(/AdamW lr: got 0; allowed: a number > 0/);
    expect(() => new AdamW([w], { lr: 1, betas: [0.9, 1] })).toThrow(/AdamW betas/);
    expect(() => new AdamW([w], { lr: 1, eps: 0 })).toThrow(/AdamW eps/);
    expect(() => new AdamW([w], { lr: 1 }).loadStateDict({ step: 1, tensors: {} })).toThrow(/AdamW state: got "no tensor w.exp_avg"/);
  });
});

describe('schedule and clipping', () => {
  it('warms up linearly and decays by cosine to minRatio', () => {
    const lr = warmupCosine({ peak: 1, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 });
    expect(lr(0)).toBeCloseTo(0.1);
    expect(lr(9)).toBeCloseTo(1);
    expect(lr(60)).toBeCloseTo(0.55);
    expect(lr(110)).toBeCloseTo(0.1);
  });

  it('clips to the global norm and leaves small gradients alone', () => {
    const big = clipByGlobalNorm([op.tensor([3, 0], [2]), op.tensor([4], [1])], 1);
    expect(big.norm.dataSync()[0]).toBeCloseTo(5);
    expect(Array.from(big.grads[0]!.dataSync())).toEqual([expect.closeTo(0.6, 5), 0]);
    expect(big.grads[1]!.dataSync()[0]).toBeCloseTo(0.8, 5);
    const small = clipByGlobalNorm([op.tensor([0.3], [1])], 1);
    expect(small.grads[0]!.dataSync()[0]).toBeCloseTo(0.3, 6);
  });
});
