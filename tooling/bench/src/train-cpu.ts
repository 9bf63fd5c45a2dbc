/**
 * Training throughput of the default GPT: octet on backend-cpu (f32 and FP8 recipes) against the
 * same architecture in f32 on TensorFlow.js's wasm backend, measured in this run.
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { op, setBackend, tidy, valueAndGrads } from '@octet/core';
import { ByteTokenizer, Gpt, gptConfig, loadBrown, packTokenIds, TokenDataset } from '@octet/models';
import { AdamW, clipByGlobalNorm } from '@octet/optim';
import { trainTfjsGpt } from './peers/tfjs-gpt.js';

const STEPS = Number(process.env.OCTET_BENCH_TRAIN_STEPS ?? 6);
const WARMUP = 2;
const BATCH = 8;

async function octetTokensPerSecond(recipe: string, tokens: Uint16Array | Int32Array): Promise<number> {
  setBackend(createCpuBackend());
  const model = new Gpt(gptConfig('small', { recipe }));
  const optimizer = new AdamW(model.parameterGroups(), { lr: recipe === 'unitScaling' ? 0.5 : 3e-3 });
  const data = new TokenDataset(tokens, { batchSize: BATCH, contextLength: model.config.contextLength, seed: 0 });
  let start = 0;
  for (let step = 0; step < WARMUP + STEPS; step++) {
    if (step === WARMUP) start = performance.now();
    const batch = data.nextBatch();
    const shape = [batch.batchSize, batch.contextLength];
    const loss = tidy(() => {
      const { value, grads } = valueAndGrads(
        () => model.loss(op.tensor(batch.inputs, shape), op.tensor(batch.targets, shape)),
        optimizer.params(),
      );
      optimizer.applyGradients(clipByGlobalNorm(grads, 1).grads);
      return value;
    });
    await loss.data();
    loss.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  optimizer.dispose();
  return (STEPS * BATCH * model.config.contextLength) / seconds;
}

export async function run(): Promise<void> {
  const tokenizer = new ByteTokenizer();
  const ids = packTokenIds(tokenizer.encode(loadBrown().train.slice(0, 2_000_000)), 256);
  const tfjs = await trainTfjsGpt({ engine: 'wasm', steps: STEPS, warmupSteps: WARMUP, batch: BATCH, tokens: Int32Array.from(ids) });
  const rows: [string, number][] = [['tfjs wasm, f32 (peer)', tfjs.tokensPerSecond]];
  for (const recipe of ['f32', 'unitScaling', 'delayed']) rows.push([`octet cpu, ${recipe}`, await octetTokensPerSecond(recipe, ids)]);
  console.log(`GPT 'small' (4 layers, d 128, T 128, vocab 256), batch ${BATCH}, ${STEPS} timed steps after ${WARMUP} warm-up steps`);
  console.log('| trainer | tokens/s | vs tfjs wasm |');
  console.log('|---|---|---|');
  for (const [name, tps] of rows) console.log(`| ${name} | ${tps.toFixed(0)} | ${(tps / tfjs.tokensPerSecond).toFixed(2)}x |`);
}
