import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpuBackend } from '@octet/backend-cpu';
import { memory, op, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import { AdamW } from '@octet/optim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpt, gptConfig } from '../src/gpt.js';
import { loadGptCheckpoint, saveGptCheckpoint } from '../src/gpt-checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'octet-gpt-'));
beforeAll(() => setBackend(createCpuBackend()));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fixed batch of English bytes: (B, T) inputs and next-byte targets. */
function batch(B: number, T: number): [Tensor, Tensor] {
  const text = 'the quick brown fox jumps over the lazy dog. a stitch in time saves nine. '.repeat(8);
  const bytes = new TextEncoder().encode(text);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = bytes[b * 7 + t]!;
      targets[b * T + t] = bytes[b * 7 + t + 1]!;
    }
  }
  return [op.tensor(inputs, [B, T]), op.tensor(targets, [B, T])];
}

/** An AdamW training loop on one fixed batch; `step()` returns the loss. */
function trainer(model: Gpt, lr: number) {
  const optimizer = new AdamW(model.parameterGroups(), { lr, weightDecay: 0 });
  const [x, y] = batch(4, 16);
  return {
    async step(): Promise<number> {
      const loss = tidy(() => {
        const { value, grads } = valueAndGrads(() => model.loss(x, y), optimizer.params());
        optimizer.applyGradients(grads);
        return value;
      });
      const value = ((await loss.data()) as Float32Array)[0]!;
      loss.dispose();
      return value;
    },
    dispose() {
      optimizer.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

async function trainSteps(model: Gpt, steps: number, lr: number): Promise<number[]> {
  const loop = trainer(model, lr);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(await loop.step());
  loop.dispose();
  return losses;
}

describe('GPT', () => {
  for (const [recipe, lr, below] of [
    ['f32', 1e-2, 0.5],
    ['bf16', 1e-2, 0.5],
    ['unitScaling', 0.3, 0.5],
    ['delayed', 1e-2, 0.5],
    ['current', 1e-2, 0.5],
  ] as const) {
    it(`overfits one batch under ${recipe} (loss from ~ln 256 to < ${below})`, async () => {
      const model = new Gpt(gptConfig('tiny', { recipe }));
      const losses = await trainSteps(model, 60, lr);
      expect(losses[0]).toBeGreaterThan(4.5);
      expect(losses.at(-1)).toBeLessThan(below);
      model.dispose();
    });
  }

  it('gives the same loss curve for the same seed, and a different one for another seed', async () => {
    const run = async (seed: number) => {
      const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling', seed }));
      const losses = await trainSteps(model, 5, 0.3);
      model.dispose();
      return losses;
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
  });

  it('does not leak tensors across training steps', async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'delayed' }));
    const loop = trainer(model, 1e-2);
    await loop.step();
    const before = memory();
    for (let s = 0; s < 3; s++) await loop.step();
    expect(memory().numTensors).toBe(before.numTensors);
    expect(memory().numBytes).toBe(before.numBytes);
    loop.dispose();
    model.dispose();
  });

  for (const recipe of ['unitScaling', 'delayed', 'f32'] as const) {
    it(`saves and loads a ${recipe} checkpoint with identical logits`, async () => {
      const model = new Gpt(gptConfig('tiny', { recipe, seed: 5 }));
      await trainSteps(model, 3, recipe === 'unitScaling' ? 0.3 : 1e-2);
      const [x] = batch(2, 16);
      model.setTraining(false);
      const before = (await model.forward(x).data()) as Float32Array;
      const path = join(dir, recipe);
      await saveGptCheckpoint(path, model);
      const loaded = await loadGptCheckpoint(path);
      loaded.model.setTraining(false);
      const after = (await loaded.model.forward(x).data()) as Float32Array;
      expect(after).toEqual(before);
    });
  }

  it('serves a unitScaling checkpoint from its FP8 weights and BF16 embedding and head with identical logits', async () => {
    // Static scales are 1, so decode(e4m3 codes) re-quantizes to the very same codes; the other
    // matrices are the masters rounded to bf16.
    const loaded = await loadGptCheckpoint(join(dir, 'unitScaling'));
    const served = await loadGptCheckpoint(join(dir, 'unitScaling'), { weights: 'serving' });
    for (const [name, variable] of loaded.model.namedVariables()) {
      if (variable.rank === 2 && !loaded.model.hiddenLinears().some(([path]) => `${path}.weight` === name)) {
        tidy(() => variable.assign(op.roundTo(variable, 'bf16')));
      }
    }
    const [x] = batch(2, 16);
    expect(await served.model.forward(x).data()).toEqual(await loaded.model.forward(x).data());
  });

  it('loads a checkpoint with what backward keeps chosen anew, the weights unchanged', async () => {
    const path = join(dir, 'unitScaling');
    const { model: saved } = await loadGptCheckpoint(path);
    const { model } = await loadGptCheckpoint(path, { memory: { activations: 'f32', recompute: 'block' } });
    expect(saved.recompute).toBe('attention');
    expect(saved.recipe.activations).toBe('fp8');
    expect(model.recompute).toBe('block');
    expect(model.recipe.activations).toBe('f32');
    expect(model.config).toMatchObject({ activations: 'f32', recompute: 'block' });
    const weights = new Map(saved.namedVariables());
    for (const [name, variable] of model.namedVariables()) expect(await variable.data()).toEqual(await weights.get(name)!.data());
    // Undefined fields keep the checkpoint's; a combination the recipe cannot run is still an error.
    const kept = (await loadGptCheckpoint(path, { memory: { recompute: undefined } })).model;
    expect(kept.recompute).toBe('attention');
    for (const m of [saved, model, kept]) m.dispose();
    await expect(loadGptCheckpoint(join(dir, 'f32'), { memory: { activations: 'fp8' } })).rejects.toThrow(/activations/);
  });

  it('rejects a checkpoint from another config, naming the field', async () => {
    await expect(loadGptCheckpoint(join(dir, 'f32'), { expectConfig: { dim: 64 } })).rejects.toThrow(/config\.dim/);
  });

  it('rejects bad configs with the field and the allowed values', () => {
    expect(() => gptConfig('huge')).toThrow(/model preset: got "huge"; allowed: "tiny", "small", "medium"/);
    expect(() => new Gpt(gptConfig('tiny', { heads: 3 }))).toThrow(/GptConfig.heads/);
    expect(() => new Gpt(gptConfig('tiny', { recipe: 'fp4' }))).toThrow(/recipe: got "fp4"/);
  });
});
