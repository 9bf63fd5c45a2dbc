/**
 * Training throughput of the default GPT: octet on backend-cpu (f32 and FP8 recipes) against the
 * same architecture in f32 on TensorFlow.js's wasm backend, measured in this run.
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { brownTrainingTokens, octetTrainTokensPerSecond } from './octet-train-throughput.js';
import { trainTfjsGpt } from './peers/tfjs-gpt.js';

const STEPS = Number(process.env.OCTET_BENCH_TRAIN_STEPS ?? 6);
const WARMUP = 2;
const BATCH = 8;

export async function run(): Promise<void> {
  const ids = brownTrainingTokens();
  const tfjs = await trainTfjsGpt({ engine: 'wasm', steps: STEPS, warmupSteps: WARMUP, batch: BATCH, tokens: Int32Array.from(ids) });
  const rows: [string, number][] = [['tfjs wasm, f32 (peer)', tfjs.tokensPerSecond]];
  const cpu = createCpuBackend();
  for (const recipe of ['f32', 'unitScaling', 'delayed']) {
    rows.push([
      `octet cpu, ${recipe}`,
      await octetTrainTokensPerSecond(cpu, ids, { recipe, steps: STEPS, warmupSteps: WARMUP, batch: BATCH }),
    ]);
  }
  console.log(`GPT 'small' (4 layers, d 128, T 128, vocab 256), batch ${BATCH}, ${STEPS} timed steps after ${WARMUP} warm-up steps`);
  console.log('| trainer | tokens/s | vs tfjs wasm |');
  console.log('|---|---|---|');
  for (const [name, tps] of rows) console.log(`| ${name} | ${tps.toFixed(0)} | ${(tps / tfjs.tokensPerSecond).toFixed(2)}x |`);
}
