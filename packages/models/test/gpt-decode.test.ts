import { createCpuBackend } from '@octet/backend-cpu';
import { memory, op, Random, setBackend, tidy } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Gpt, gptConfig } from '../src/gpt.js';
import { type GptDecodeResult, GptDecoder, type GptKvCache } from '../src/gpt-decode.js';

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
  it("continuous batching: sequences joining, leaving and reordered keep the full forward's logits, and nothing leaks", async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling' }));
    const decoder = new GptDecoder(model);
    const V = model.config.vocabSize;
    const texts = [0, 7, 13, 21, 30, 2].map((start, i) => TEXT.slice(start, start + 22 + i));
    const expected = await Promise.all(texts.map((ids) => fullLogits(model, ids)));
    const before = memory().numTensors;
    const random = new Random(5);
    // Per text: how many of its tokens are in its cache, or undefined before it joins / after it leaves.
    const active = new Map<number, { cache: GptKvCache; fed: number }>();
    let joined = 0;
    let steps = 0;
    while (joined < texts.length || active.size > 0) {
      const items: { text: number; tokens: number[]; cache?: GptKvCache }[] = [];
      for (const [text, { cache, fed }] of active) {
        // Mostly one token; sometimes a few at once (a continued prompt beside sequences decoding).
        const count = random.next() < 0.2 ? 3 : 1;
        items.push({ text, tokens: texts[text]!.slice(fed, fed + count), cache });
      }
      // A newcomer every other step, with a prompt of 1 to 9 tokens (one a step after a sequence left).
      if (joined < texts.length && steps % 2 === 0) {
        const prompt = 1 + Math.floor(random.next() * 9);
        items.push({ text: joined, tokens: texts[joined]!.slice(0, prompt) });
        joined++;
      }
      if (random.next() < 0.2) items.reverse(); // the rows of a block in another order
      const results = await decoder.step(items.map(({ tokens, cache }) => ({ tokens, cache })));
      for (const [i, { text, tokens }] of items.entries()) {
        const fed = (active.get(text)?.fed ?? 0) + tokens.length;
        const row = expected[text]!.subarray((fed - 1) * V, fed * V);
        for (let j = 0; j < V; j++) expect(results[i]!.logits[j], `text ${text} position ${fed - 1}`).toBeCloseTo(row[j]!, 4);
        expect(results[i]!.cache.length).toBe(fed);
        // A sequence leaves when its text ends, or at random.
        if (fed === texts[text]!.length || random.next() < 0.08) {
          decoder.release(results[i]!.cache);
          active.delete(text);
        } else active.set(text, { cache: results[i]!.cache, fed });
      }
      steps++;
    }
    expect(memory().numTensors).toBe(before);
    model.dispose();
  });

  it('sequences that leave leave holes the others append past in place, until holes outnumber them', async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling' }));
    const decoder = new GptDecoder(model);
    const V = model.config.vocabSize;
    const texts = [0, 6, 12, 18].map((start) => TEXT.slice(start, start + 20));
    const expected = await Promise.all(texts.map((ids) => fullLogits(model, ids)));
    const before = memory().numTensors;
    const blockOf = (cache: GptKvCache) => (cache as unknown as { block: { rows: number; capacity: number } }).block;
    let live = (await decoder.step(texts.map((ids) => ({ tokens: ids.slice(0, 4) })))).map(({ cache }, text) => ({ text, cache }));
    let fed = 4;
    const decodeStep = async () => {
      const results = await decoder.step(live.map(({ text, cache }) => ({ tokens: [texts[text]![fed]!], cache })));
      fed++;
      for (const [i, { text }] of live.entries()) {
        const row = expected[text]!.subarray((fed - 1) * V, fed * V);
        for (let j = 0; j < V; j++) expect(results[i]!.logits[j], `text ${text} position ${fed - 1}`).toBeCloseTo(row[j]!, 4);
      }
      live = live.map(({ text }, i) => ({ text, cache: results[i]!.cache }));
    };
    await decodeStep();
    const leave = (text: number) => {
      decoder.release(live.find((s) => s.text === text)!.cache);
      live = live.filter((s) => s.text !== text);
    };
    leave(1);
    for (let step = 0; step < 3; step++) {
      const { capacity } = blockOf(live[0]!.cache);
      await decodeStep();
      expect(blockOf(live[0]!.cache)).toMatchObject({ rows: 4, capacity: capacity + 1 }); // appended, hole kept
    }
    leave(0);
    leave(3);
    await decodeStep(); // three holes beside one sequence: compacted
    expect(blockOf(live[0]!.cache)).toMatchObject({ rows: 1, capacity: fed });
    for (const { cache } of live) decoder.release(cache);
    expect(memory().numTensors).toBe(before);
    model.dispose();
  });

  it('sequences bringing different numbers of tokens in turn: full-forward logits, a block as long as its longest sequence', async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling', contextLength: 64 }));
    const decoder = new GptDecoder(model);
    const V = model.config.vocabSize;
    const texts = [0, 9, 20].map((start) => TEXT.slice(start, start + 34));
    const expected = await Promise.all(texts.map((ids) => fullLogits(model, ids)));
    const before = memory().numTensors;
    let fed = [1, 1, 1];
    let results = await decoder.step(texts.map((ids) => ({ tokens: ids.slice(0, 1) })));
    // In turn, one brings 7 tokens while the others bring one (two attention groups a step).
    for (let step = 0; step < 9; step++) {
      const counts = fed.map((_, i) => (i === step % 3 ? 7 : 1));
      results = await decoder.step(results.map(({ cache }, i) => ({ tokens: texts[i]!.slice(fed[i], fed[i]! + counts[i]!), cache })));
      fed = fed.map((f, i) => f + counts[i]!);
      for (const [i, { logits, cache }] of results.entries()) {
        expect(cache.length).toBe(fed[i]);
        const row = expected[i]!.subarray((fed[i]! - 1) * V, fed[i]! * V);
        for (let j = 0; j < V; j++) expect(logits[j]).toBeCloseTo(row[j]!, 4);
      }
      const { capacity } = (results[0]!.cache as unknown as { block: { capacity: number } }).block;
      expect(capacity).toBe(Math.max(...fed));
    }
    for (const { cache } of results) decoder.release(cache);
    expect(memory().numTensors).toBe(before);
    model.dispose();
  });

  it('a cache continues with a multi-token prefill; consumed caches and a cache given twice are refused', async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'f32' }));
    const decoder = new GptDecoder(model);
    const V = model.config.vocabSize;
    const ids = TEXT.slice(0, 16);
    const expected = await fullLogits(model, ids);
    const first = await decoder.prefill(ids.slice(0, 6));
    const second = await decoder.prefill(ids.slice(6, 16), first.cache);
    expect(second.logits.length).toBe(10 * V);
    for (let i = 0; i < 10 * V; i++) expect(second.logits[i]).toBeCloseTo(expected[6 * V + i]!, 4);
    await expect(decoder.step([{ tokens: [1], cache: first.cache }])).rejects.toThrow(/batch item 0 cache: got "released or consumed/);
    await expect(
      decoder.step([
        { tokens: [1], cache: second.cache },
        { tokens: [2], cache: second.cache },
      ]),
    ).rejects.toThrow(/the same cache twice/);
    decoder.release(second.cache);
    decoder.release(second.cache); // harmless
    model.dispose();
  });
});
