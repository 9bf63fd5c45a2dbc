// The scheduler's admissions, against a stand-in model that records what each step brings.
import { ByteTokenizer, gptConfig } from '@octet/models';
import { describe, expect, it } from 'vitest';
import { createMetrics, type ServedModel } from '../src/index.js';
import { DEFAULT_CHAT_TEMPLATE } from '../src/model.js';
import { Scheduler } from '../src/scheduler.js';

/**
 * Runs requests of 12 tokens through a scheduler over a model that answers at once: four at the
 * start, then at given steps more; returns how many prompts each step prefilled.
 */
async function promptsPerStep(arrivals: Record<number, number>): Promise<number[]> {
  const config = gptConfig('tiny');
  const prompts: number[] = [];
  let scheduler: Scheduler | null = null;
  const finished: Promise<void>[] = [];
  const submit = () =>
    finished.push(
      new Promise<void>((resolve, reject) => {
        scheduler!.submit({
          promptTokens: [1, 2, 3],
          maxTokens: 12,
          sampling: { temperature: 0, topP: 1, topK: 0 },
          seed: 0,
          stop: [],
          onText: () => {},
          onDone: () => resolve(),
          onError: reject,
        });
      }),
    );
  const model: ServedModel = {
    id: 'stand-in',
    backend: 'cpu',
    config,
    tokenizer: new ByteTokenizer(),
    chatTemplate: DEFAULT_CHAT_TEMPLATE,
    async step(items) {
      prompts.push(items.filter((item) => item.cache === null).length);
      for (let i = 0; i < (arrivals[prompts.length - 1] ?? 0); i++) submit(); // arrive while this step runs
      return items.map(() => ({ logits: new Float32Array(config.vocabSize), cache: {} }));
    },
    release: () => {},
  };
  scheduler = new Scheduler(model, { maxBatch: 8, maxQueue: 8 }, createMetrics());
  for (let i = 0; i < 4; i++) submit();
  // Later arrivals push onto `finished` as they come; wait until no more are added.
  for (let seen = 0; seen < finished.length; seen = finished.length) await Promise.all(finished);
  return prompts;
}

describe('Scheduler admission', () => {
  it('prefills requests that arrive together in one step, and later arrivals on the next step beside the decoding', async () => {
    const prompts = await promptsPerStep({ 0: 1, 5: 2 });
    expect(prompts.slice(0, 8)).toEqual([4, 1, 0, 0, 0, 0, 2, 0]);
    expect(prompts.reduce((a, b) => a + b, 0)).toBe(7);
  });
});
