import { createCpuBackend } from '@octet/backend-cpu';
import { exportToOnnx } from '@octet/backend-onnx';
import { Block, type BlockOps, op, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Gpt, gptConfig } from '../src/gpt.js';
import { GptDecoder } from '../src/gpt-decode.js';

beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

const TEXT = Array.from(new TextEncoder().encode('the quick brown fox jumps over the lazy dog, twice over.'));

/** GPT-J's parallel layout, h + attn(norm(h)) + mlp(norm(h)): one override, nothing else. */
class ParallelBlock extends Block {
  protected override layout<V>(h: V, f: BlockOps<V>): V {
    return f.add(h, f.add(f.attention(f.attentionNorm(h)), f.mlp(f.mlpNorm(h))));
  }
}

async function values(t: Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function maxAbs(v: Float32Array): number {
  return v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

describe('a block variant', () => {
  for (const recipe of ['f32', 'unitScaling'] as const) {
    it(`changes training, KV-cache decoding and the ONNX export together (${recipe})`, async () => {
      const config = gptConfig('tiny', { recipe });
      const standard = new Gpt(config);
      const parallel = new Gpt(config, { createBlock: (options) => new ParallelBlock(options) });
      const T = 16;
      const ids = TEXT.slice(0, T);
      const forward = (model: Gpt) => values(tidy(() => model.forward(op.tensor(Int32Array.from(ids), [1, T]))));
      const V = config.vocabSize;

      // Training: the same initial weights (same seeds), another forward, and gradients through it.
      const standardLogits = await forward(standard);
      const parallelLogits = await forward(parallel);
      expect(maxAbsDifference(parallelLogits, standardLogits)).toBeGreaterThan(0.01 * maxAbs(standardLogits));
      const lossOf = (model: Gpt) =>
        tidy(() => {
          const { value } = valueAndGrads(
            () =>
              model.loss(op.tensor(Int32Array.from(ids.slice(0, T - 1)), [1, T - 1]), op.tensor(Int32Array.from(ids.slice(1)), [1, T - 1])),
            model.parameters(),
          );
          return value;
        });
      expect((await values(lossOf(parallel)))[0]).not.toBe((await values(lossOf(standard)))[0]);

      // Decoding: the KV cache runs the variant's own forward. (The embedding and head rounded to
      // bf16, as a checkpoint serves them and the export stores them.)
      parallel.setTraining(false);
      tidy(() => {
        for (const weight of [parallel.embedding.weight, parallel.head.weight]) weight.assign(op.roundTo(weight, 'bf16'));
      });
      const expected = await forward(parallel);
      const decoder = new GptDecoder(parallel);
      let step = await decoder.prefill(ids.slice(0, 6));
      for (let t = 6; t < T; t++) {
        [step] = (await decoder.decode([{ token: ids[t]!, cache: step.cache }])) as [typeof step];
        const row = expected.subarray(t * V, (t + 1) * V);
        for (let i = 0; i < V; i++) expect(step.logits[i]).toBeCloseTo(row[i]!, 4);
      }
      decoder.release(step.cache);

      // Export: the graph is the variant's.
      const session = await ort.InferenceSession.create(await exportToOnnx(parallel, { kvCache: false }));
      const input = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]);
      const onnxLogits = (await session.run({ input_ids: input })).logits!.data as Float32Array;
      expect(maxAbsDifference(onnxLogits, expected)).toBeLessThan(1e-4 * maxAbs(expected));
      expect(maxAbsDifference(onnxLogits, standardLogits)).toBeGreaterThan(0.01 * maxAbs(standardLogits));
      await session.release();
      standard.dispose();
      parallel.dispose();
    });
  }
});
