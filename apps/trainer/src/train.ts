/**
 * One training run: Brown corpus → byte tokens → GPT under a recipe → AdamW with warmup + cosine,
 * periodic validation, a checkpoint at the end, a short sample, and a summary.
 */

import { type CpuBackend, createCpuBackend } from '@octet/backend-cpu';
import { registerWebGpuBackend } from '@octet/backend-webgpu';
import { dispose, getBackend, keep, op, Random, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import {
  ByteTokenizer,
  Gpt,
  gptConfig,
  loadBrown,
  packTokenIds,
  sampleToken,
  saveGptCheckpoint,
  sequentialBatches,
  type TokenBatch,
  TokenDataset,
} from '@octet/models';
import { clipByGlobalNorm, createOptimizer, warmupCosine } from '@octet/optim';

export const BACKENDS = ['cpu', 'webgpu'] as const;

registerWebGpuBackend();

export interface TrainOptions {
  preset: string;
  /** CPU backend: threads for large matmuls (default: one per core). */
  threads?: number;
  recipe: string;
  backend: string;
  /** Optimizer name (see `OPTIMIZER_NAMES` in @octet/optim); default 'adamw'. */
  optimizer?: string;
  steps: number;
  batch: number;
  /** Context length; defaults to the preset's. */
  context?: number;
  /** Peak learning rate; defaults per parametrisation. */
  lr?: number;
  warmup: number;
  seed: number;
  outDir: string;
  /** Validate every N steps (and at the end). */
  evalEvery: number;
  /** Validation windows per evaluation (each of `context` tokens). */
  evalWindows: number;
  /** Tokens to generate for the sample at the end (0: none). */
  sampleTokens: number;
  onStep?: (info: StepInfo) => void;
  onEval?: (info: { step: number; valLoss: number }) => void;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
}

export interface TrainSummary {
  final_val_loss: number;
  unigram_val_loss: number;
  tokens_per_s: number;
  recipe: string;
  backend: string;
  preset: string;
  optimizer: string;
  /** Bytes of optimizer state per parameter (AdamW: 8). */
  optimizer_state_bytes_per_param: number;
  params: number;
  steps: number;
  tokens: number;
  /** Peak learning rate used. */
  lr: number;
  checkpoint: string;
  sample: string;
  losses: number[];
  val_losses: { step: number; loss: number }[];
}

/** Default peak lr per parametrisation, tuned on the default preset. */
export function defaultLearningRate(recipe: string): number {
  return recipe === 'unitScaling' ? 0.5 : 3e-3;
}

export async function train(options: TrainOptions): Promise<TrainSummary> {
  setBackend(await backendFor(options));
  const tokenizer = new ByteTokenizer();
  const corpus = loadBrown();
  const trainIds = packTokenIds(tokenizer.encode(corpus.train), tokenizer.vocabSize);
  const valIds = packTokenIds(tokenizer.encode(corpus.val), tokenizer.vocabSize);

  const config = gptConfig(options.preset, {
    recipe: options.recipe,
    seed: options.seed,
    vocabSize: tokenizer.vocabSize,
    ...(options.context ? { contextLength: options.context } : {}),
  });
  const model = new Gpt(config);
  const lr = options.lr ?? defaultLearningRate(options.recipe);
  const optimizerName = options.optimizer ?? 'adamw';
  const optimizer = createOptimizer(optimizerName, model.parameterGroups(), { lr, betas: [0.9, 0.95], weightDecay: 0.1 });
  const schedule = warmupCosine({ peak: lr, warmupSteps: options.warmup, totalSteps: options.steps });
  const data = new TokenDataset(trainIds, { batchSize: options.batch, contextLength: config.contextLength, seed: options.seed });
  const valBatches = [...sequentialBatches(valIds, { batchSize: options.batch, contextLength: config.contextLength })];
  const valSubset = takeWindows(valBatches, options.evalWindows);

  const losses: number[] = [];
  const valLosses: { step: number; loss: number }[] = [];
  const tokensPerStep = options.batch * config.contextLength;
  const start = performance.now();
  const save = () =>
    saveGptCheckpoint(options.outDir, model, {
      tokenizer: tokenizer.toJSON(),
      optimizer,
      data: data.state(),
      json: { step: optimizer.step },
    });
  for (let step = 0; step < options.steps; step++) {
    optimizer.lr = schedule(step);
    const batch = data.nextBatch();
    const { value, grads } = tidy(() => {
      const result = valueAndGrads(() => model.loss(...batchTensors(batch)), optimizer.params());
      return { value: result.value, grads: clipByGlobalNorm(result.grads, 1.0).grads };
    });
    const loss = ((await value.data()) as Float32Array)[0]!;
    value.dispose();
    if (!Number.isFinite(loss)) {
      // Stop before applying this update: the parameters and the last checkpoint stay good.
      dispose(grads);
      throw new Error(
        `training stopped at step ${step + 1}: the loss is ${loss}; ${await firstNonFinite(model, batch)}. ` +
          `The last good checkpoint is in ${options.outDir} (written every ${options.evalEvery} steps).`,
      );
    }
    tidy(() => optimizer.applyGradients(grads));
    dispose(grads);
    losses.push(loss);
    const elapsedSeconds = (performance.now() - start) / 1000;
    options.onStep?.({
      step: step + 1,
      steps: options.steps,
      loss,
      tokensPerSecond: ((step + 1) * tokensPerStep) / elapsedSeconds,
      elapsedSeconds,
    });
    if ((step + 1) % options.evalEvery === 0 || step + 1 === options.steps) {
      const valLoss = await evaluate(model, valSubset);
      valLosses.push({ step: step + 1, loss: valLoss });
      options.onEval?.({ step: step + 1, valLoss });
      if (step + 1 < options.steps) await save();
    }
  }
  const trainSeconds = (performance.now() - start) / 1000;
  const checkpoint = await save();
  const sample = options.sampleTokens > 0 ? await generate(model, tokenizer, 'The ', options.sampleTokens, options.seed) : '';
  return {
    final_val_loss: valLosses.at(-1)?.loss ?? Number.NaN,
    unigram_val_loss: unigramCrossEntropy(trainIds, valIds, tokenizer.vocabSize),
    tokens_per_s: (options.steps * tokensPerStep) / trainSeconds,
    recipe: options.recipe,
    backend: options.backend,
    preset: options.preset,
    optimizer: optimizerName,
    optimizer_state_bytes_per_param: optimizer.stateBytes() / model.numParameters(),
    params: model.numParameters(),
    steps: options.steps,
    tokens: options.steps * tokensPerStep,
    lr,
    checkpoint,
    sample,
    losses,
    val_losses: valLosses,
  };
}

const cpuBackends = new Map<number | undefined, CpuBackend>();

/** The backend named in the options (CPU backends are shared per thread count: their workers live on). */
async function backendFor(options: TrainOptions) {
  if (options.backend !== 'cpu') return getBackend(options.backend);
  let backend = cpuBackends.get(options.threads);
  if (!backend) {
    backend = createCpuBackend(options.threads ? { threads: options.threads } : {});
    cpuBackends.set(options.threads, backend);
  }
  return backend;
}

function batchTensors(batch: TokenBatch): [Tensor, Tensor] {
  const shape = [batch.batchSize, batch.contextLength];
  return [op.tensor(batch.inputs, shape), op.tensor(batch.targets, shape)];
}

function takeWindows(batches: TokenBatch[], windows: number): TokenBatch[] {
  const out: TokenBatch[] = [];
  let taken = 0;
  for (const batch of batches) {
    if (taken >= windows) break;
    out.push(batch);
    taken += batch.batchSize;
  }
  return out;
}

/** Mean loss over the validation windows (delayed scaling records no amaxes while evaluating). */
export async function evaluate(model: Gpt, batches: TokenBatch[]): Promise<number> {
  model.setTraining(false);
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    const loss = tidy(() => model.loss(...batchTensors(batch)));
    total += ((await loss.data()) as Float32Array)[0]! * batch.batchSize;
    count += batch.batchSize;
    loss.dispose();
  }
  model.setTraining(true);
  return total / count;
}

/** Cross-entropy (nats/token) of the validation tokens under the training split's unigram frequencies. */
export function unigramCrossEntropy(trainIds: ArrayLike<number>, valIds: ArrayLike<number>, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1); // add-one smoothing: unseen tokens stay finite
  for (let i = 0; i < trainIds.length; i++) counts[trainIds[i]!]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  let nats = 0;
  for (let i = 0; i < valIds.length; i++) nats -= Math.log(counts[valIds[i]!]! / total);
  return nats / valIds.length;
}

/** Samples `count` tokens after `prompt` (temperature 0.8, seeded), re-running the context each step. */
export async function generate(model: Gpt, tokenizer: ByteTokenizer, prompt: string, count: number, seed: number): Promise<string> {
  model.setTraining(false);
  const ids = [...tokenizer.encode(prompt)];
  const random = new Random(seed);
  for (let i = 0; i < count; i++) {
    const context = ids.slice(-model.config.contextLength);
    const logits = tidy(() => {
      const all = model.forward(op.tensor(Int32Array.from(context), [1, context.length]));
      return op.slice(all, [0, context.length - 1, 0], [1, 1, model.config.vocabSize]);
    });
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    ids.push(sampleToken(values, { temperature: 0.8, topP: 1, topK: 0 }, random));
  }
  model.setTraining(true);
  return tokenizer.decode(ids);
}

/** Where non-finite values start: the first parameter holding one, else the first layer whose output does. */
export async function firstNonFinite(model: Gpt, batch: TokenBatch): Promise<string> {
  const finite = async (t: Tensor) => ((await t.data()) as Float32Array).every(Number.isFinite);
  for (const [name, param] of model.namedParameters()) {
    if (!(await finite(param))) return `first non-finite parameter: ${name}`;
  }
  const activations: [string, Tensor][] = [];
  tidy(() => model.forward(batchTensors(batch)[0], (name, t) => activations.push([name, keep(t)])));
  let found = 'every activation is finite (the loss itself overflowed)';
  for (const [name, t] of activations) {
    if (!(await finite(t))) {
      found = `non-finite values first appear in the output of ${name}`;
      break;
    }
  }
  dispose(activations.map(([, t]) => t));
  return found;
}
