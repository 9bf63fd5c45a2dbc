/**
 * Training memory of the GPT: recomputation (attention probabilities, whole blocks) changes what is
 * kept for backward, never a loss or gradient bit; FP8 activations keep less; a step leaks nothing.
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { memory, op, Random, setBackend, tidy, valueAndGrads } from '@octet/core';
import { AdamW } from '@octet/optim';
import { beforeAll, describe, expect, it } from 'vitest';
import { Gpt, type GptConfig, gptConfig } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend()));

describe('a GPT training step', () => {
  const ids = (seed: number) => {
    const random = new Random(seed);
    return op.tensor(
      Int32Array.from({ length: 2 * 32 }, () => random.int(256)),
      [2, 32],
      'int32',
    );
  };

  /** Loss and gradients of one step, and live bytes once the forward has returned (saved for backward). */
  function step(overrides: Partial<GptConfig>): { loss: number; grads: number[][]; saved: number } {
    const model = new Gpt(gptConfig('tiny', { seed: 5, ...overrides }));
    const [x, y] = [ids(1), ids(2)];
    let saved = 0;
    const before = memory().numBytes;
    const { value, grads } = valueAndGrads(() => {
      const loss = model.loss(x, y);
      saved = memory().numBytes - before - 4;
      return loss;
    }, model.parameters());
    const result = { loss: value.dataSync()[0]!, grads: grads.map((g) => Array.from(g.dataSync())), saved };
    for (const t of [value, ...grads, x, y]) t.dispose();
    model.dispose();
    return result;
  }

  it.each(['f32', 'unitScaling', 'delayed'])('%s: recomputing attention or whole blocks changes no loss or gradient bit', (recipe) => {
    const activations = recipe === 'f32' ? 'f32' : 'fp8';
    const plain = step({ recipe, activations, recompute: 'attention' });
    const blocks = step({ recipe, activations, recompute: 'block' });
    expect(blocks.loss).toBe(plain.loss);
    expect(blocks.grads).toEqual(plain.grads);
    expect(blocks.saved).toBeLessThan(plain.saved);
    if (recipe === 'f32') {
      const saving = step({ recipe, recompute: 'none' });
      expect(saving.loss).toBe(plain.loss);
      expect(saving.grads).toEqual(plain.grads);
    }
  });

  it('FP8 activations hold much less than f32 ones, with the same forward', () => {
    const f32 = step({ recipe: 'unitScaling', activations: 'f32' });
    const fp8Saved = step({ recipe: 'unitScaling', activations: 'fp8' });
    // 'tiny' is dominated by the f32 logits the loss keeps; the blocks' share shrinks 3.2×.
    expect(fp8Saved.saved).toBeLessThan(f32.saved * 0.6);
    expect(fp8Saved.loss).toBe(f32.loss); // the forward is the same
  });

  it('an unknown recomputation is an error naming the allowed ones', () => {
    expect(() => new Gpt(gptConfig('tiny', { recompute: 'layers' as 'block' }))).toThrow(
      /GptConfig.recompute: got "layers"; allowed: "none", "attention", "block"/,
    );
  });

  it('live bytes return to their level before the step once the update is applied (no leak)', () => {
    for (const recompute of ['attention', 'block'] as const) {
      const model = new Gpt(gptConfig('tiny', { recipe: 'delayed', recompute }));
      const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
      const [x, y] = [ids(3), ids(4)];
      const levels: number[] = [];
      for (let s = 0; s < 3; s++) {
        tidy(() => {
          const { grads } = valueAndGrads(() => model.loss(x, y), optimizer.params());
          optimizer.applyGradients(grads);
        });
        levels.push(memory().numBytes);
      }
      expect(levels[2]).toBe(levels[1]);
      for (const t of [x, y]) t.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });
});
