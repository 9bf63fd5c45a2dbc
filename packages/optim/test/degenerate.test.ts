import { createCpuBackend } from '@octet/backend-cpu';
import { setBackend, type Variable } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamSNSM, AdamW, AdamW4bit, AdamW8bit, AdamWFp8, Grass, MicroAdam, type Optimizer } from '../src/index.js';
import { closeness, minimize, quadratic } from './quadratic.js';

beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

const STEPS = 60;
const OPTIONS = { lr: 0.02, betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.1 };

/** Final weights of `make` after STEPS on the quadratic from seed 1, and AdamW's. */
function againstAdamW(make: (w: Variable) => Optimizer, shape?: { rows: number; cols: number }) {
  const reference = quadratic(1, shape);
  minimize(reference, new AdamW([reference.w], OPTIONS), STEPS);
  const problem = quadratic(1, shape);
  const optimizer = make(problem.w);
  minimize(problem, optimizer, STEPS);
  return { actual: problem.w.dataSync(), expected: reference.w.dataSync(), optimizer };
}

// allclose with rtol 1e-5 and atol 1e-6 (a few f32 ulps of the O(1) initial weights).
describe('each compressed optimizer in its degenerate setting equals f32 AdamW (rtol 1e-5)', () => {
  it('AdamW8bit with the identity codec', () => {
    const { actual, expected } = againstAdamW((w) => new AdamW8bit([w], { ...OPTIONS, identityCodec: true }));
    expect(closeness(actual, expected)).toBeLessThanOrEqual(1);
  });

  it('AdamWFp8 with the identity codec', () => {
    const { actual, expected } = againstAdamW((w) => new AdamWFp8([w], { ...OPTIONS, identityCodec: true }));
    expect(closeness(actual, expected)).toBeLessThanOrEqual(1);
  });

  it('AdamW4bit with the identity codec', () => {
    const { actual, expected } = againstAdamW((w) => new AdamW4bit([w], { ...OPTIONS, identityCodec: true }));
    expect(closeness(actual, expected)).toBeLessThanOrEqual(1);
  });

  it('MicroAdam with k = 100% and a window covering every step', () => {
    const { actual, expected } = againstAdamW((w) => new MicroAdam([w], { ...OPTIONS, density: 1, window: STEPS, valueFormat: 'f32' }), {
      rows: 12,
      cols: 64,
    });
    expect(closeness(actual, expected)).toBeLessThanOrEqual(1);
  });

  it('AdamSNSM at full rank (rows projection) with subsets of size 1', () => {
    const { actual, expected, optimizer } = againstAdamW(
      (w) => new AdamSNSM([w], { ...OPTIONS, rank: 24, projection: 'rows', subsetSize: 1, gap: STEPS + 1 }),
    );
    expect((optimizer as AdamSNSM).isProjected(optimizer.params()[0]!)).toBe(true);
    expect(closeness(actual, expected)).toBeLessThanOrEqual(1);
  });

  it('Grass selecting every row', () => {
    const { actual, expected } = againstAdamW(
      (w) => new Grass([w], { ...OPTIONS, rank: 24, selection: 'top-norm', refreshEvery: STEPS + 1 }),
    );
    expect(closeness(actual, expected)).toBeLessThanOrEqual(1);
  });
});
