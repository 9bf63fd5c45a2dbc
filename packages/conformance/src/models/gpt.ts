/**
 * Model level: the tiny GPT's logits for a fixed seed, and a short AdamW loss curve on a fixed batch,
 * on the backend under test against the reference.
 */
import { type Backend, op, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import { Gpt, gptConfig } from '@octet/models';
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
/** Adam's normalised steps amplify last-bit differences of small gradients, step after step. */
const LOSS_RTOL: Record<(typeof RECIPES)[number], number> = { f32: 1e-4, unitScaling: 1e-3, delayed: 1e-3 };
const STEPS = 6;

/** Loss after each of `STEPS` AdamW steps on one fixed batch, on `backend`. */
async function lossCurve(backend: Backend, recipe: string): Promise<number[]> {
  setBackend(backend);
  const model = new Gpt(gptConfig('tiny', { recipe, seed: 3 }));
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

export function defineModelCases(ctx: ConformanceContext): void {
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
