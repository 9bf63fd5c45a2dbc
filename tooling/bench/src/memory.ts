/**
 * Training memory by component, measured by the engine: for each recipe × optimizer (× what is
 * recomputed), one training step of the GPT on Brown batches, with
 * - activations: live bytes saved for backward once the forward has returned (the loss aside);
 * - step peak: the engine's high-water mark of live bytes over the whole step (forward, backward,
 *   clipping, the optimizer update, temporaries included), FP8 health probe on;
 * - weights, gradients, optimizer state and FP8 scaling state.
 * Then each row's validation loss after the default budget, against the f32 row, and the largest
 * batch of 'medium' whose step peak stays under 1 GiB per recipe.
 *
 *   pnpm bench memory     (OCTET_BENCH_MEM_STEPS=N training steps for the loss column, 0 to skip it;
 *                          OCTET_BENCH_MEM_PRESETS=small,medium; OCTET_BENCH_MEM_FIT=0 skips the largest-batch search)
 */
import { createCpuBackend } from '@octet/backend-cpu';
import {
  attachFp8HealthProbe,
  dispose,
  Fp8HealthProbe,
  memory,
  op,
  resetPeakMemory,
  setBackend,
  type Tensor,
  tidy,
  valueAndGrads,
} from '@octet/core';
import {
  ByteTokenizer,
  Gpt,
  type GptConfig,
  gptConfig,
  loadBrown,
  packTokenIds,
  sequentialBatches,
  TokenDataset,
  type TokenIds,
} from '@octet/models';
import { clipByGlobalNorm, createOptimizer, type OptimizerName, warmupCosine } from '@octet/optim';

const STEPS = Number(process.env.OCTET_BENCH_MEM_STEPS ?? 300);
const PRESETS = (process.env.OCTET_BENCH_MEM_PRESETS ?? 'small,medium').split(',');
const FIT = process.env.OCTET_BENCH_MEM_FIT !== '0';
const BATCH = 8;
const LR = 3e-3;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

interface Setting {
  recipe: string;
  optimizer: OptimizerName;
  activations?: 'f32' | 'fp8';
  recompute?: 'none' | 'attention' | 'block';
}

const SETTINGS: Setting[] = [
  { recipe: 'f32', optimizer: 'adamw' },
  { recipe: 'f32', optimizer: 'adamw', recompute: 'none' },
  { recipe: 'f32', optimizer: 'adamw', recompute: 'block' },
  { recipe: 'bf16', optimizer: 'adamw' },
  { recipe: 'unitScaling', optimizer: 'adamw', activations: 'f32' },
  { recipe: 'unitScaling', optimizer: 'adamw' },
  { recipe: 'unitScaling', optimizer: 'adamw', recompute: 'none' },
  { recipe: 'unitScaling', optimizer: 'adamw', recompute: 'block' },
  { recipe: 'unitScaling', optimizer: 'adamw8bit' },
  { recipe: 'unitScaling', optimizer: 'adamw-fp8' },
  { recipe: 'unitScaling', optimizer: 'adamw4bit' },
  { recipe: 'unitScaling', optimizer: 'microadam' },
  { recipe: 'delayed', optimizer: 'adamw', activations: 'f32' },
  { recipe: 'delayed', optimizer: 'adamw' },
  { recipe: 'delayed', optimizer: 'adamw-fp8' },
];

type Data = { train: TokenIds; val: TokenIds };

interface StepBytes {
  weights: number;
  gradients: number;
  optimizer: number;
  scaling: number;
  activations: number;
  stepPeak: number;
  /** Live bytes after the step, less those before it: 0 unless something leaked. */
  leaked: number;
}

function name({ recipe, optimizer, activations, recompute }: Setting): string {
  const extras = [activations && `${activations} activations`, recompute && `recompute ${recompute}`].filter(Boolean);
  return `${recipe} + ${optimizer}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

function configOf(preset: string, setting: Setting, vocabSize: number): GptConfig {
  return gptConfig(preset, { recipe: setting.recipe, vocabSize, activations: setting.activations, recompute: setting.recompute });
}

/** Builds the model and optimizer, runs `steps` steps and measures the last one. */
async function measure(
  preset: string,
  setting: Setting,
  batch: number,
  steps: number,
  data: Data,
): Promise<{ bytes: StepBytes; valLoss: number; stepMs: number }> {
  const base = memory().numBytes;
  const model = new Gpt(configOf(preset, setting, 256));
  const optimizer = createOptimizer(setting.optimizer, model.parameterGroups(), { lr: LR });
  const schedule = warmupCosine({ peak: LR, warmupSteps: Math.min(30, Math.ceil(steps / 10)), totalSteps: Math.max(steps, 1) });
  const T = model.config.contextLength;
  const dataset = new TokenDataset(data.train, { batchSize: batch, contextLength: T, seed: 0 });
  const probe = new Fp8HealthProbe();
  attachFp8HealthProbe(model, probe);
  let bytes: StepBytes | null = null;
  let stepMs = 0;
  for (let step = 0; step < Math.max(steps, 1); step++) {
    const measured = step === Math.max(steps, 1) - 1;
    optimizer.lr = schedule(step);
    const { inputs, targets } = dataset.nextBatch();
    probe.arm();
    const before = memory().numBytes;
    resetPeakMemory();
    const started = performance.now();
    let activations = 0;
    const grads = tidy(() => {
      const ids = op.tensor(inputs, [batch, T], 'int32');
      const target = op.tensor(targets, [batch, T], 'int32');
      const forwardStart = memory().numBytes;
      const result = valueAndGrads(() => {
        const loss = model.loss(ids, target);
        activations = memory().numBytes - forwardStart - loss.size * 4;
        return loss;
      }, optimizer.params());
      return clipByGlobalNorm(result.grads, 1).grads;
    });
    await optimizer.applyGradientsAsync(grads);
    dispose(grads);
    await probe.collect();
    if (measured) {
      stepMs = performance.now() - started;
      const weights = model.parameters().reduce((n, p) => n + p.size * 4, 0);
      const scaling = model.namedVariables().reduce((n, [, v]) => n + (v.trainable ? 0 : v.size * 4), 0);
      bytes = {
        weights,
        gradients: weights,
        optimizer: optimizer.stateBytes(),
        scaling,
        activations,
        stepPeak: memory().peakBytes - base,
        leaked: memory().numBytes - before,
      };
    }
  }
  const valLoss = steps > 0 ? evaluate(model, data.val) : Number.NaN;
  attachFp8HealthProbe(model, null);
  optimizer.dispose();
  model.dispose();
  return { bytes: bytes!, valLoss, stepMs };
}

function evaluate(model: Gpt, val: TokenIds): number {
  const T = model.config.contextLength;
  const batches = [...sequentialBatches(val, { batchSize: BATCH, contextLength: T })].slice(0, 16);
  model.setTraining(false);
  let total = 0;
  for (const batch of batches) {
    total += tidy(() => {
      const shape = [batch.batchSize, T];
      const loss: Tensor = model.loss(op.tensor(batch.inputs, shape, 'int32'), op.tensor(batch.targets, shape, 'int32'));
      return loss.dataSync()[0]!;
    });
  }
  model.setTraining(true);
  return total / batches.length;
}

const mb = (bytes: number) => (bytes / MiB).toFixed(1);

export async function run(): Promise<void> {
  setBackend(createCpuBackend());
  const tokenizer = new ByteTokenizer();
  const brown = loadBrown();
  const data = {
    train: packTokenIds(tokenizer.encode(brown.train), tokenizer.vocabSize),
    val: packTokenIds(tokenizer.encode(brown.val), tokenizer.vocabSize),
  };
  for (const preset of PRESETS) {
    const steps = preset === 'small' ? STEPS : 0;
    console.log(
      `\n### ${preset}, batch ${BATCH} × ${gptConfig(preset).contextLength}, FP8 health on${steps ? `; val loss after ${steps} steps` : ''}`,
    );
    console.log('| recipe + optimizer | weights | grads | optimizer | activations | step peak | leaked | val loss | vs f32 | step ms |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    let f32Loss = Number.NaN;
    let f32Peak = Number.NaN;
    for (const setting of SETTINGS) {
      const { bytes, valLoss, stepMs } = await measure(preset, setting, BATCH, steps, data);
      if (setting.recipe === 'f32' && !setting.recompute) {
        f32Loss = valLoss;
        f32Peak = bytes.stepPeak;
      }
      const vs = Number.isFinite(f32Loss) && steps ? `${(((valLoss - f32Loss) / f32Loss) * 100).toFixed(2)}%` : '—';
      console.log(
        `| ${name(setting)} | ${mb(bytes.weights)} | ${mb(bytes.gradients)} | ${mb(bytes.optimizer)} | ${mb(bytes.activations)} | ` +
          `${mb(bytes.stepPeak)} (${(f32Peak / bytes.stepPeak).toFixed(2)}×) | ${bytes.leaked} | ${steps ? valLoss.toFixed(4) : '—'} | ${vs} | ${stepMs.toFixed(0)} |`,
      );
      if (setting.recipe === 'bf16') {
        // A bf16 framework holds its saved activations in 2 bytes: octet keeps bf16 values in f32 storage.
        console.log(
          `| bf16 + adamw, activations at 2 bytes | | | | ${mb(bytes.activations / 2)} | ${mb(bytes.stepPeak - bytes.activations / 2)} | | | | |`,
        );
      }
    }
  }
  if (FIT) await largestBatches(data);
}

/** The largest batch of 'medium' whose step peak stays under 1 GiB, per recipe (a doubling then bisection on one step). */
async function largestBatches(data: Data): Promise<void> {
  console.log('\n### largest batch of medium under 1 GiB of step peak (one step each)');
  console.log('| recipe + optimizer | batch | step peak |');
  console.log('|---|---:|---:|');
  const fits = async (setting: Setting, batch: number) => (await measure('medium', setting, batch, 1, data)).bytes.stepPeak;
  for (const setting of [
    { recipe: 'f32', optimizer: 'adamw' },
    { recipe: 'bf16', optimizer: 'adamw' },
    { recipe: 'unitScaling', optimizer: 'adamw', activations: 'f32' },
    { recipe: 'unitScaling', optimizer: 'adamw-fp8' },
    { recipe: 'unitScaling', optimizer: 'adamw-fp8', recompute: 'block' },
  ] satisfies Setting[]) {
    let low = 1;
    let high = 2;
    let lowPeak = await fits(setting, low);
    for (;;) {
      const peak = await fits(setting, high);
      if (peak > GiB) break;
      [low, lowPeak, high] = [high, peak, high * 2];
    }
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      const peak = await fits(setting, mid);
      if (peak > GiB) high = mid;
      else [low, lowPeak] = [mid, peak];
    }
    console.log(`| ${name(setting)} | ${low} | ${mb(lowPeak)} MiB |`);
  }
}
