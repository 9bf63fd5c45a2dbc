/**
 * Training throughput of the default GPT (preset 'small', recipe unitScaling, AdamW, batch 8) on
 * backend-tfjs's wasm engine against backend-cpu, measured in this run; f32 beside it.
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { createTfjsBackend } from '@octet/backend-tfjs';
import { brownTrainingTokens, octetTrainTokensPerSecond } from './octet-train-throughput.js';

const STEPS = Number(process.env.OCTET_BENCH_TRAIN_STEPS ?? 6);
const WARMUP = 2;
const BATCH = 8;

export async function run(): Promise<void> {
  const ids = brownTrainingTokens();
  const tfjs = await createTfjsBackend({ engine: 'wasm' });
  const cpu = createCpuBackend();
  console.log(`backend-tfjs: engine '${tfjs.engine}' (${tfjs.engineReason}); backend-cpu: ${cpu.threads} thread(s)`);
  console.log(`GPT 'small' (4 layers, d 128, T 128, vocab 256), batch ${BATCH}, ${STEPS} timed steps after ${WARMUP} warm-up steps`);
  console.log('| recipe | octet cpu tokens/s | octet tfjs wasm tokens/s | tfjs wasm / cpu |');
  console.log('|---|---|---|---|');
  for (const recipe of ['unitScaling', 'f32']) {
    const options = { recipe, steps: STEPS, warmupSteps: WARMUP, batch: BATCH };
    const onCpu = await octetTrainTokensPerSecond(cpu, ids, options);
    const onTfjs = await octetTrainTokensPerSecond(tfjs, ids, options);
    console.log(
      `| ${recipe}${recipe === 'unitScaling' ? ' (default)' : ''} | ${onCpu.toFixed(0)} | ${onTfjs.toFixed(0)} | ${(onTfjs / onCpu).toFixed(2)}x |`,
    );
  }
}
