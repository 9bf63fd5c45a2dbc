/**
 * Training throughput of the default GPT (preset 'small', recipe unitScaling, AdamW, batch 8) on
 * backend-tfjs's wasm engine against backend-cpu, measured in this run; f32 beside it.
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { createTfjsBackend } from '@octet/backend-tfjs';
import { type Backend, op, setBackend, tidy, valueAndGrads } from '@octet/core';
import { ByteTokenizer, Gpt, gptConfig, loadBrown, packTokenIds, TokenDataset } from '@octet/models';
import { AdamW, clipByGlobalNorm } from '@octet/optim';

const STEPS = Number(process.env.OCTET_BENCH_TRAIN_STEPS ?? 6);
const WARMUP = 2;
const BATCH = 8;

async function tokensPerSecond(backend: Backend, recipe: string, tokens: Uint16Array | Int32Array): Promise<number> {
  setBackend(backend);
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
  const tfjs = await createTfjsBackend({ engine: 'wasm' });
  const cpu = createCpuBackend();
  console.log(`backend-tfjs: engine '${tfjs.engine}' (${tfjs.engineReason}); backend-cpu: ${cpu.threads} thread(s)`);
  console.log(`GPT 'small' (4 layers, d 128, T 128, vocab 256), batch ${BATCH}, ${STEPS} timed steps after ${WARMUP} warm-up steps`);
  console.log('| recipe | octet cpu tokens/s | octet tfjs wasm tokens/s | tfjs wasm / cpu |');
  console.log('|---|---|---|---|');
  for (const recipe of ['unitScaling', 'f32']) {
    const onCpu = await tokensPerSecond(cpu, recipe, ids);
    const onTfjs = await tokensPerSecond(tfjs, recipe, ids);
    console.log(
      `| ${recipe}${recipe === 'unitScaling' ? ' (default)' : ''} | ${onCpu.toFixed(0)} | ${onTfjs.toFixed(0)} | ${(onTfjs / onCpu).toFixed(2)}x |`,
    );
  }
}
