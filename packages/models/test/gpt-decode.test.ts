import { createCpuBackend } from '@octet/backend-cpu';
import { memory, op, setBackend, tidy } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Gpt, gptConfig } from '../src/gpt.js';
import { type GptDecodeResult, GptDecoder } from '../src/gpt-decode.js';

beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

const TEXT = Array.from(new TextEncoder().encode('the quick brown fox jumps over the lazy dog, twice over.'));

async function fullLogits(model: Gpt, ids: number[]): Promise<Float32Array> {
  const logits = tidy(() => model.forward(op.tensor(Int32Array.from(ids), [1, ids.length])));
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  return values;
}

describe('GptDecoder', () => {
  for (const recipe of ['unitScaling', 'f32'] as const) {
    it(`prefill + batched decode steps give the full forward's logits (${recipe}) and leak no tensors`, async () => {
      const model = new Gpt(gptConfig('tiny', { recipe }));
      model.setTraining(false);
      const decoder = new GptDecoder(model);
      const V = model.config.vocabSize;
      const a = TEXT.slice(0, 20);
      const b = TEXT.slice(5, 30);
      const [expectedA, expectedB] = [await fullLogits(model, a), await fullLogits(model, b)];
      const before = memory().numTensors;
      let stepA = await decoder.prefill(a.slice(0, 6));
      let stepB = await decoder.prefill(b.slice(0, 11));
      for (let t = 6; t < 20; t++) {
        [stepA, stepB] = (await decoder.decode([
          { token: a[t]!, cache: stepA.cache },
          { token: b[t + 5]!, cache: stepB.cache },
        ])) as [typeof stepA, typeof stepB];
        for (const [actual, expected, position] of [
          [stepA.logits, expectedA, t],
          [stepB.logits, expectedB, t + 5],
        ] as const) {
          const row = expected.subarray(position * V, (position + 1) * V);
          for (let i = 0; i < V; i++) expect(actual[i]).toBeCloseTo(row[i]!, 4);
        }
      }
      decoder.release(stepA.cache);
      decoder.release(stepB.cache);
      expect(memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it("step: a prompt prefilled beside sequences decoding gives the full forward's next-token logits", async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling' }));
    const decoder = new GptDecoder(model);
    const V = model.config.vocabSize;
    const a = TEXT.slice(0, 12);
    const b = TEXT.slice(3, 20);
    const c = TEXT.slice(30, 39);
    const expected = await Promise.all([a, b, c].map((ids) => fullLogits(model, ids)));
    const before = memory().numTensors;
    // a and b start together with prompts of different lengths; c joins later while they decode.
    const [stepA, stepB] = (await decoder.step([{ tokens: a.slice(0, 5) }, { tokens: b.slice(0, 9) }])) as [
      GptDecodeResult,
      GptDecodeResult,
    ];
    const lastRow = (logits: Float32Array, position: number) => logits.subarray(position * V, (position + 1) * V);
    const expectRow = (actual: Float32Array, full: Float32Array, position: number) => {
      const row = lastRow(full, position);
      expect(actual.length).toBe(V);
      for (let i = 0; i < V; i++) expect(actual[i]).toBeCloseTo(row[i]!, 4);
    };
    expectRow(stepA.logits, expected[0]!, 4);
    expectRow(stepB.logits, expected[1]!, 8);
    const [nextA, nextB, stepC] = (await decoder.step([
      { tokens: [a[5]!], cache: stepA.cache },
      { tokens: [b[9]!], cache: stepB.cache },
      { tokens: c },
    ])) as [GptDecodeResult, GptDecodeResult, GptDecodeResult];
    expectRow(nextA.logits, expected[0]!, 5);
    expectRow(nextB.logits, expected[1]!, 9);
    expectRow(stepC.logits, expected[2]!, c.length - 1);
    for (const { cache } of [nextA, nextB, stepC]) decoder.release(cache);
    expect(memory().numTensors).toBe(before);
    model.dispose();
  });
});
