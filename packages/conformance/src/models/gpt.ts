/**
 * Model level: the tiny GPT's logits for a fixed seed, and a short AdamW loss curve on a fixed batch,
 * on the backend under test against the reference.
 */
import { type Backend, memory, op, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import { Gpt, type GptConfig, gptConfig } from '@octet/models';
import { AdamW } from '@octet/optim';
import { expect } from 'vitest';
import { type ConformanceContext, expectClose, runOn, type Tolerance } from '../harness.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ';

/** (B, T) byte ids and their next-byte targets. */
function batch(B: number, T: number): { ids: Int32Array; targets: Int32Array; shape: number[] } {
  const bytes = new TextEncoder().encode(TEXT.repeat(4));
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = bytes[b * 7 + t]!;
      targets[b * T + t] = bytes[b * 7 + t + 1]!;
    }
  }
  return { ids, targets, shape: [B, T] };
}

/**
 * f32 models follow the reference up to summation order (the matmul tolerance). FP8 models can differ
 * by one FP8 code wherever an activation lies within f32 rounding of a rounding boundary (a step of
 * 1/8 to 1/16 of that value), so they get 100× more room: a wrong kernel is off by far more.
 */
const RECIPES = ['f32', 'unitScaling', 'delayed'] as const;
const LOGITS: Record<(typeof RECIPES)[number], Tolerance> = {
  f32: { rtol: 1e-5, floor: 'max' },
  unitScaling: { rtol: 1e-3, floor: 'max' },
  delayed: { rtol: 1e-3, floor: 'max' },
};
/**
 * Adam's normalised steps amplify last-bit differences of small gradients, step after step. FP8
 * activations add to that: an activation one f32 step from a rounding boundary is saved one e4m3
 * code (1/16) apart, and delayed scaling's amax history carries such differences into later scales.
 */
const LOSS_RTOL: Record<(typeof RECIPES)[number], number> = { f32: 1e-4, unitScaling: 1e-3, delayed: 2e-3 };
const STEPS = 6;

/** Loss after each of `STEPS` AdamW steps on one fixed batch, on `backend`. */
async function lossCurve(backend: Backend, recipe: string, overrides: Partial<GptConfig> = {}): Promise<number[]> {
  setBackend(backend);
  const model = new Gpt(gptConfig('tiny', { recipe, seed: 3, ...overrides }));
  const optimizer = new AdamW(model.parameters(), { lr: recipe === 'unitScaling' ? 0.1 : 1e-2 });
  const { ids, targets, shape } = batch(2, 8);
  const x = op.tensor(ids, shape);
  const y = op.tensor(targets, shape);
  const losses: number[] = [];
  try {
    for (let step = 0; step < STEPS; step++) {
      const loss: Tensor = tidy(() => {
        const { value, grads } = valueAndGrads(() => model.loss(x, y), optimizer.params());
        optimizer.applyGradients(grads);
        return value;
      });
      losses.push((await loss.data())[0]!);
      loss.dispose();
    }
  } finally {
    for (const t of [x, y]) t.dispose();
    optimizer.dispose();
    model.dispose();
  }
  return losses;
}

async function logits(backend: Backend, recipe: string): Promise<Float32Array> {
  setBackend(backend);
  const model = new Gpt(gptConfig('tiny', { recipe, seed: 11 }));
  model.setTraining(false);
  const { ids, shape } = batch(2, 12);
  try {
    const [out] = await runOn(backend, () => model.forward(op.tensor(ids, shape)));
    return out as Float32Array;
  } finally {
    model.dispose();
  }
}

/**
 * Bytes one training step keeps for backward (live once the forward has returned, the loss aside),
 * and live bytes left after the update beyond those before the step (0: nothing leaks).
 */
async function stepBytes(backend: Backend, overrides: Partial<GptConfig>): Promise<{ saved: number; leaked: number }> {
  setBackend(backend);
  const model = new Gpt(gptConfig('tiny', { seed: 3, ...overrides }));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const { ids, targets, shape } = batch(2, 16);
  const x = op.tensor(ids, shape);
  const y = op.tensor(targets, shape);
  let saved = 0;
  const run = () =>
    tidy(() => {
      const before = memory().numBytes;
      const { grads } = valueAndGrads(() => {
        const loss = model.loss(x, y);
        saved = memory().numBytes - before - 4;
        return loss;
      }, optimizer.params());
      optimizer.applyGradients(grads);
    });
  try {
    run(); // the first step creates what steps keep (optimizer state, cached static scales)
    const before = memory().numBytes;
    run();
    await x.data(); // the step's work is done before live bytes are read again
    return { saved, leaked: memory().numBytes - before };
  } finally {
    for (const t of [x, y]) t.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

/** What a step keeps for backward: FP8 activations, f32 ones, whole blocks recomputed. */
const MEMORY_CASES: [string, Partial<GptConfig>][] = [
  ['unitScaling, FP8 activations', { recipe: 'unitScaling' }],
  ['delayed, f32 activations', { recipe: 'delayed', activations: 'f32' }],
  ['unitScaling, blocks recomputed', { recipe: 'unitScaling', recompute: 'block' }],
];

export function defineModelCases(ctx: ConformanceContext): void {
  for (const [name, overrides] of MEMORY_CASES) {
    ctx.test(`Gpt 'tiny' (${name}): a step keeps the reference's bytes for backward and leaks nothing`, [], async () => {
      const expected = await stepBytes(ctx.reference(), overrides);
      const actual = await stepBytes(ctx.backend(), overrides);
      expect(expected.saved).toBeGreaterThan(0);
      expect(actual).toEqual({ saved: expected.saved, leaked: 0 });
    });
  }

  ctx.test(`Gpt 'tiny' (unitScaling, blocks recomputed): ${STEPS} AdamW steps give the reference's loss curve`, [], async () => {
    const expected = await lossCurve(ctx.reference(), 'unitScaling', { recompute: 'block' });
    const actual = await lossCurve(ctx.backend(), 'unitScaling', { recompute: 'block' });
    for (let step = 0; step < STEPS; step++) {
      expect(Math.abs(actual[step]! - expected[step]!), `loss at step ${step + 1}`).toBeLessThanOrEqual(
        LOSS_RTOL.unitScaling * Math.abs(expected[step]!),
      );
    }
  });

  for (const recipe of RECIPES) {
    ctx.test(`Gpt 'tiny' (${recipe}) logits for a fixed seed`, [], async () => {
      const expected = await logits(ctx.reference(), recipe);
      const actual = await logits(ctx.backend(), recipe);
      expect(expected.length).toBe(2 * 12 * 256);
      expectClose(actual, expected, LOGITS[recipe], 'logits');
    });

    ctx.test(`Gpt 'tiny' (${recipe}): ${STEPS} AdamW steps give the reference's loss curve`, [], async () => {
      const expected = await lossCurve(ctx.reference(), recipe);
      const actual = await lossCurve(ctx.backend(), recipe);
      // The curve must actually move, or matching it would prove little.
      expect(expected.at(-1)!).toBeLessThan(expected[0]! - 0.05);
      for (let step = 0; step < STEPS; step++) {
        expect(
          Math.abs(actual[step]! - expected[step]!),
          `loss at step ${step + 1}: ${actual[step]} vs ${expected[step]}`,
        ).toBeLessThanOrEqual(LOSS_RTOL[recipe] * Math.abs(expected[step]!));
      }
    });
  }
}
