/**
 * One training run: Brown corpus → byte tokens → GPT under a recipe → an optimizer with warmup +
 * cosine, periodic validation, FP8 health, checkpoints every N steps and at exit, a short sample,
 * and a summary, all in the run directory (run-dir.ts).
 *
 * A resumed run continues bit-identically: the checkpoint holds the f32 master weights, the
 * optimizer state, every delayed-scaling amax history, the data position and the step; the lr
 * schedule is a function of the step.
 */
import { join } from 'node:path';
import { attachFp8HealthProbe, dispose, Fp8HealthProbe, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import {
  ByteTokenizer,
  Gpt,
  gptConfig,
  loadBrown,
  loadGptCheckpoint,
  packTokenIds,
  saveGptCheckpoint,
  sequentialBatches,
  TokenDataset,
  writeFileAtomic,
} from '@octet/models';
import { clipByGlobalNorm, createOptimizer, type StateScalar, warmupCosine } from '@octet/optim';
import { createTrainBackend } from './backends.js';
import type { RunConfig } from './config.js';
import { batchTensors, evaluate, firstNonFinite, takeWindows, unigramCrossEntropy } from './evaluate.js';
import { type HealthWarning, healthWarnings } from './health.js';
import { type MemoryByComponent, maxByComponent, modelBytes, type PeakBytes, peakRssBytes, StepMemory, summaryBytes } from './memory.js';
import {
  appendMetrics,
  checkpointName,
  listCheckpoints,
  pruneCheckpoints,
  readMetrics,
  startRunDirectory,
  truncateMetricsForResume,
  writeRunConfig,
} from './run-dir.js';
import { generate } from './sample.js';

export interface TrainOptions extends RunConfig {
  /** Continue the run in `outDir` from its newest checkpoint instead of starting one. */
  resume?: boolean;
  /** Start a new run in `outDir` even if it holds one (which is deleted). */
  overwrite?: boolean;
  /** When aborted: stop after the current step, checkpoint, and throw `TrainingInterrupted`. */
  signal?: AbortSignal;
  /** Which backend runs the training (and, for `auto`, why). */
  onBackend?: (description: string) => void;
  onStep?: (info: StepInfo) => void;
  onEval?: (info: { step: number; valLoss: number }) => void;
  /** A health step's warnings, together (one per operand and kind; `summariseHealthWarnings` makes them one line). */
  onWarnings?: (warnings: HealthWarning[]) => void;
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
  /** The backend that ran (what `auto` picked). */
  backend: string;
  /** Model size preset. */
  preset: string;
  optimizer: string;
  /** Bytes of optimizer state per parameter (AdamW: 8). */
  optimizer_state_bytes_per_param: number;
  params: number;
  steps: number;
  tokens: number;
  /** Peak learning rate used. */
  lr: number;
  /** The run directory. */
  run: string;
  /** The last checkpoint's directory. */
  checkpoint: string;
  /** Step the run resumed from (0: started fresh). */
  resumed_from: number;
  /**
   * Bytes per component and the step's high-water mark, each the largest over the steps this
   * process measured (the first and every eval step; `memory` records in metrics.jsonl).
   * Activations and step_peak: 0 when no step ran.
   */
  peak_bytes: PeakBytes;
  /** The process's peak resident set size (everything: code, workers, pooled buffers). */
  peak_rss_bytes: number;
  sample: string;
  /** Training losses of the steps this process ran. */
  losses: number[];
  val_losses: { step: number; loss: number }[];
}

export class TrainingInterrupted extends Error {
  constructor(
    readonly step: number,
    readonly checkpoint: string,
  ) {
    super(`training interrupted after step ${step}; checkpoint ${checkpoint}; continue with --resume ${join(checkpoint, '..', '..')}`);
  }
}

interface Restored {
  step: number;
  optimizer: { step: number; tensors: Record<string, Tensor> };
  json: Record<string, unknown>;
}

export async function train(options: TrainOptions): Promise<TrainSummary> {
  const { backend, description } = await createTrainBackend(options.backend, options.threads);
  setBackend(backend);
  options.onBackend?.(description);
  const runDir = options.outDir;
  const tokenizer = new ByteTokenizer();
  const corpus = loadBrown();
  const trainIds = packTokenIds(tokenizer.encode(corpus.train), tokenizer.vocabSize);
  const valIds = packTokenIds(tokenizer.encode(corpus.val), tokenizer.vocabSize);

  let model: Gpt;
  let restored: Restored | null = null;
  if (options.resume) {
    const latest = (await listCheckpoints(runDir)).at(-1);
    if (!latest) throw new Error(`--resume ${runDir}: no checkpoint in ${join(runDir, 'checkpoints')}; allowed: a run directory with one`);
    // The checkpoint fixes the model; what backward keeps changes no weight, so the run's own applies.
    const loaded = await loadGptCheckpoint(latest.dir, { memory: { activations: options.activations, recompute: options.recompute } });
    model = loaded.model;
    await writeRunConfig(runDir, pickConfig(options));
    const json = loaded.trainingJson ?? {};
    const optimizerState = { step: Number(json.optimizerStep ?? 0), tensors: loaded.optimizer?.tensors ?? {} };
    restored = { step: Number(json.step), optimizer: optimizerState, json };
  } else {
    model = new Gpt(modelConfig(options, tokenizer.vocabSize));
    await startRunDirectory(runDir, pickConfig(options), options.overwrite === true).catch((error) => {
      model.dispose();
      throw error;
    });
  }
  const config = model.config;
  const lr = options.lr;
  const optimizer = createOptimizer(options.optimizer, model.parameterGroups(), {
    lr,
    betas: options.betas as [number, number],
    weightDecay: options.weightDecay,
  });
  const schedule = warmupCosine({ peak: lr, warmupSteps: options.warmup, totalSteps: options.steps, minRatio: options.minLrRatio });
  const data = new TokenDataset(trainIds, { batchSize: options.batch, contextLength: config.contextLength, seed: options.seed });
  let startStep = 0;
  if (restored) {
    optimizer.loadStateDict({
      step: restored.optimizer.step,
      tensors: restored.optimizer.tensors,
      scalars: restored.json.optimizerScalars as Record<string, StateScalar> | undefined,
    });
    dispose(Object.values(restored.optimizer.tensors));
    data.restore(restored.json.data as ReturnType<TokenDataset['state']>);
    startStep = restored.step;
    await truncateMetricsForResume(runDir, startStep);
  }
  const log = (record: Parameters<typeof appendMetrics>[1]) => appendMetrics(runDir, record);

  const valBatches = [...sequentialBatches(valIds, { batchSize: options.batch, contextLength: config.contextLength })];
  const valSubset = takeWindows(valBatches, options.evalWindows);
  const probe = new Fp8HealthProbe();
  const fp8Layers = attachFp8HealthProbe(model, probe);

  const losses: number[] = [];
  const valLosses: { step: number; loss: number }[] = [];
  const tokensPerStep = options.batch * config.contextLength;
  const start = performance.now();
  let lastCheckpoint = '';
  const save = async (step: number) => {
    const dir = join(runDir, 'checkpoints', checkpointName(step));
    await saveGptCheckpoint(dir, model, {
      tokenizer: tokenizer.toJSON(),
      optimizer,
      data: data.state(),
      json: { step, optimizerScalars: optimizer.stateDict().scalars },
    });
    lastCheckpoint = dir;
    // Older checkpoints go only once the new one is in place.
    await pruneCheckpoints(runDir, options.keepCheckpoints);
  };
  const staticBytes = modelBytes(model);
  const stepMemory = new StepMemory();
  let peakBytes: MemoryByComponent | null = null;
  for (let step = startStep; step < options.steps; step++) {
    if (options.signal?.aborted) {
      await save(step);
      throw new TrainingInterrupted(step, lastCheckpoint);
    }
    optimizer.lr = schedule(step);
    const batch = data.nextBatch();
    const withHealth = fp8Layers.length > 0 && options.healthEvery > 0 && (step + 1) % options.healthEvery === 0;
    if (withHealth) probe.arm();
    const measureMemory = step === startStep || (step + 1) % options.evalEvery === 0;
    if (measureMemory) stepMemory.start();
    const { value, grads } = tidy(() => {
      const result = valueAndGrads(() => {
        const loss = model.loss(...batchTensors(batch));
        if (measureMemory) stepMemory.afterForward();
        return loss;
      }, optimizer.params());
      return { value: result.value, grads: clipByGlobalNorm(result.grads, options.clip).grads };
    });
    const loss = ((await value.data()) as Float32Array)[0]!;
    value.dispose();
    const health = withHealth ? await probe.collect() : [];
    if (!Number.isFinite(loss)) {
      // Stop before applying this update: the parameters and the last checkpoint stay good.
      dispose(grads);
      throw new Error(
        `training stopped at step ${step + 1}: the loss is ${loss}; ${await firstNonFinite(model, batch)}. ` +
          `The last good checkpoint is in ${join(runDir, 'checkpoints')} (written every ${options.checkpointEvery} steps).`,
      );
    }
    // Async: what the step reads on the host is fetched first, so host-side optimizers run on WebGPU too.
    await optimizer.applyGradientsAsync(grads);
    dispose(grads);
    losses.push(loss);
    const elapsedSeconds = (performance.now() - start) / 1000;
    const tokensPerSecond = ((step + 1 - startStep) * tokensPerStep) / elapsedSeconds;
    const tokens = (step + 1) * tokensPerStep;
    log({ type: 'step', step: step + 1, tokens, loss, lr: optimizer.lr, tokensPerSecond, elapsedSeconds });
    options.onStep?.({ step: step + 1, steps: options.steps, loss, tokensPerSecond, elapsedSeconds });
    if (measureMemory) {
      const bytes = { ...staticBytes, optimizer: optimizer.stateBytes(), activations: stepMemory.activations, stepPeak: stepMemory.end() };
      log({ type: 'memory', step: step + 1, bytes });
      peakBytes = peakBytes ? maxByComponent(peakBytes, bytes) : bytes;
    }
    if (withHealth) {
      log({ type: 'health', step: step + 1, tokens, layers: health });
      const warnings = healthWarnings(step + 1, health, options);
      for (const warning of warnings) log({ type: 'warning', ...warning });
      if (warnings.length > 0) options.onWarnings?.(warnings);
    }
    if ((step + 1) % options.evalEvery === 0 || step + 1 === options.steps) {
      const valLoss = await evaluate(model, valSubset);
      valLosses.push({ step: step + 1, loss: valLoss });
      log({ type: 'eval', step: step + 1, tokens, valLoss });
      options.onEval?.({ step: step + 1, valLoss });
    }
    if ((step + 1) % options.checkpointEvery === 0 && step + 1 < options.steps) await save(step + 1);
  }
  const trainSeconds = (performance.now() - start) / 1000;
  attachFp8HealthProbe(model, null);
  if (lastCheckpoint === '' || !lastCheckpoint.endsWith(checkpointName(options.steps))) await save(options.steps);
  const sample = options.sampleTokens > 0 ? await generate(model, tokenizer, 'The ', options.sampleTokens, options.seed) : '';
  const summary: TrainSummary = {
    final_val_loss: valLosses.at(-1)?.loss ?? readMetrics(runDir).findLast((r) => r.type === 'eval')?.valLoss ?? Number.NaN,
    unigram_val_loss: unigramCrossEntropy(trainIds, valIds, tokenizer.vocabSize),
    tokens_per_s: ((options.steps - startStep) * tokensPerStep) / trainSeconds,
    recipe: options.recipe,
    backend: backend.name,
    preset: options.model,
    optimizer: options.optimizer,
    optimizer_state_bytes_per_param: optimizer.stateBytes() / model.numParameters(),
    params: model.numParameters(),
    steps: options.steps,
    tokens: options.steps * tokensPerStep,
    lr,
    run: runDir,
    checkpoint: lastCheckpoint,
    resumed_from: startStep,
    peak_bytes: summaryBytes(peakBytes ?? { ...staticBytes, optimizer: optimizer.stateBytes(), activations: 0, stepPeak: 0 }),
    peak_rss_bytes: peakRssBytes(),
    sample,
    losses,
    val_losses: valLosses,
  };
  const { losses: _l, sample: _s, ...line } = summary;
  await writeFileAtomic(join(runDir, 'summary.json'), `${JSON.stringify(line, null, 2)}\n`);
  optimizer.dispose();
  model.dispose();
  return summary;
}

/** The config fields as written to config.json (callbacks and run-control flags left out). */
function pickConfig(options: TrainOptions): RunConfig {
  const { resume: _r, overwrite: _o, signal: _s, onBackend: _b, onStep: _t, onEval: _e, onWarnings: _w, ...config } = options;
  return config;
}

/** The model the config describes: a size preset, its dimensions overridden, the recipe and memory options. */
function modelConfig(options: RunConfig, vocabSize: number) {
  const dims = {
    ...(options.width ? { dim: options.width, mlpHidden: 4 * options.width } : {}),
    ...(options.layers ? { layers: options.layers } : {}),
    ...(options.heads ? { heads: options.heads } : {}),
    ...(options.context ? { contextLength: options.context } : {}),
    ...(options.activations ? { activations: options.activations } : {}),
    ...(options.recompute ? { recompute: options.recompute } : {}),
  };
  return gptConfig(options.model, { recipe: options.recipe, seed: options.seed, vocabSize, ...dims });
}
