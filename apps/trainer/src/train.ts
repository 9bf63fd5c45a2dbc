/**
 * One training run: Brown corpus → byte tokens → GPT under a recipe → an optimizer with warmup +
 * cosine, periodic validation, FP8 health, checkpoints every N steps and at exit, a short sample,
 * and a summary. Everything goes into the run directory:
 *
 *   <run>/config.json      the resolved config
 *   <run>/metrics.jsonl    one JSON object per line: step, eval, health, warning, memory records
 *   <run>/checkpoints/step-NNNNNN/   model + training state (atomic; the newest `keepCheckpoints`)
 *   <run>/summary.json     the summary, at the end
 *
 * A resumed run continues bit-identically: the checkpoint holds the f32 master weights, the
 * optimizer state, every delayed-scaling amax history, the data position and the step; the lr
 * schedule is a function of the step.
 */

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  attachFp8HealthProbe,
  dispose,
  FP8_FORMATS,
  Fp8HealthProbe,
  type Fp8OperandHealth,
  keep,
  memory,
  op,
  Random,
  setBackend,
  type Tensor,
  tidy,
  valueAndGrads,
} from '@octet/core';
import {
  ByteTokenizer,
  Gpt,
  gptConfig,
  loadBrown,
  loadGptCheckpoint,
  packTokenIds,
  sampleToken,
  saveGptCheckpoint,
  sequentialBatches,
  type TokenBatch,
  TokenDataset,
  writeFileAtomic,
} from '@octet/models';
import { clipByGlobalNorm, createOptimizer, type Optimizer, type StateScalar, warmupCosine } from '@octet/optim';
import { createTrainBackend } from './backends.js';
import type { RunConfig } from './config.js';

export interface TrainOptions extends RunConfig {
  /** Continue the run in `outDir` from its newest checkpoint instead of starting one. */
  resume?: boolean;
  /** Start a new run in `outDir` even if it holds one (which is deleted). */
  overwrite?: boolean;
  /** When aborted: stop after the current step, checkpoint, and throw `TrainingInterrupted`. */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  onEval?: (info: { step: number; valLoss: number }) => void;
  onWarning?: (warning: HealthWarning) => void;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
}

export interface HealthWarning {
  step: number;
  layer: string;
  operand: Fp8OperandHealth['operand'];
  kind: 'saturation' | 'underflow';
  fraction: number;
  threshold: number;
  message: string;
}

/** Bytes held per component (f32 unless stated). */
export interface MemoryByComponent {
  weights: number;
  gradients: number;
  optimizer: number;
  /** Delayed-scaling amax histories. */
  fp8ScalingState: number;
  /** Tensors saved for backward after the forward pass of one step. */
  activations: number;
}

/** `MemoryByComponent` as the summary spells it. */
export interface PeakBytes {
  weights: number;
  gradients: number;
  optimizer: number;
  fp8_scaling_state: number;
  activations: number;
}

export interface TrainSummary {
  final_val_loss: number;
  unigram_val_loss: number;
  tokens_per_s: number;
  recipe: string;
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
   * Bytes held per component, each the largest over the steps this process measured (the first
   * and every eval step; `memory` records in metrics.jsonl). Activations: 0 when no step ran.
   */
  peak_bytes: PeakBytes;
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

/** A metrics.jsonl record. */
export type MetricsRecord =
  | { type: 'step'; step: number; tokens: number; loss: number; lr: number; tokensPerSecond: number; elapsedSeconds: number }
  | { type: 'eval'; step: number; tokens: number; valLoss: number }
  | { type: 'health'; step: number; tokens: number; layers: Fp8OperandHealth[] }
  | ({ type: 'warning' } & HealthWarning)
  | { type: 'memory'; step: number; bytes: MemoryByComponent }
  | { type: 'resume'; step: number };

const checkpointName = (step: number) => `step-${String(step).padStart(6, '0')}`;

/** Checkpoint directories of a run, oldest first (staging and half-renamed ones excluded). */
export async function listCheckpoints(runDir: string): Promise<{ step: number; dir: string }[]> {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((name) => /^step-\d+$/.test(name))
    .map((name) => ({ step: Number(name.slice(5)), dir: join(dir, name) }))
    .sort((a, b) => a.step - b.step);
}

/** Reads metrics.jsonl, skipping a last line cut short by a killed process. */
export function readMetrics(runDir: string): MetricsRecord[] {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  const out: MetricsRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // Only the last line can be partial (appends are whole lines); anything after it is dropped too.
      break;
    }
  }
  return out;
}

export async function train(options: TrainOptions): Promise<TrainSummary> {
  setBackend(await createTrainBackend(options.backend, options.threads));
  const runDir = options.outDir;
  const metricsPath = join(runDir, 'metrics.jsonl');
  const tokenizer = new ByteTokenizer();
  const corpus = loadBrown();
  const trainIds = packTokenIds(tokenizer.encode(corpus.train), tokenizer.vocabSize);
  const valIds = packTokenIds(tokenizer.encode(corpus.val), tokenizer.vocabSize);

  let model: Gpt;
  let restored: { step: number; optimizer: { step: number; tensors: Record<string, Tensor> }; json: Record<string, unknown> } | null = null;
  if (options.resume) {
    const latest = (await listCheckpoints(runDir)).at(-1);
    if (!latest) throw new Error(`--resume ${runDir}: no checkpoint in ${join(runDir, 'checkpoints')}; allowed: a run directory with one`);
    const loaded = await loadGptCheckpoint(latest.dir);
    model = loaded.model;
    const json = loaded.trainingJson ?? {};
    restored = {
      step: Number(json.step),
      optimizer: { step: Number(json.optimizerStep ?? 0), tensors: loaded.optimizer?.tensors ?? {} },
      json,
    };
  } else {
    if (existsSync(join(runDir, 'metrics.jsonl')) || (await listCheckpoints(runDir)).length > 0) {
      if (!options.overwrite) {
        throw new Error(
          `${runDir} already holds a run; allowed: --resume ${runDir} to continue it, --overwrite to replace it, or another --name/--out`,
        );
      }
      await rm(join(runDir, 'checkpoints'), { recursive: true, force: true });
      await rm(metricsPath, { force: true });
      await rm(join(runDir, 'summary.json'), { force: true });
    }
    model = new Gpt(modelConfig(options, tokenizer.vocabSize));
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
    // Records after the checkpoint are from steps that will run again.
    const kept = readMetrics(runDir).filter((r) => !('step' in r) || r.step <= startStep);
    kept.push({ type: 'resume', step: startStep });
    await writeFileAtomic(metricsPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else {
    await mkdir(runDir, { recursive: true });
    await writeFileAtomic(join(runDir, 'config.json'), `${JSON.stringify(pickConfig(options), null, 2)}\n`);
  }
  const log = (record: MetricsRecord) => appendFileSync(metricsPath, `${JSON.stringify(record)}\n`);

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
      json: { step, optimizerScalars: optimizerScalars(optimizer) },
    });
    lastCheckpoint = dir;
    // Older checkpoints go only once the new one is in place.
    const all = await listCheckpoints(runDir);
    for (const old of all.slice(0, Math.max(0, all.length - options.keepCheckpoints))) await rm(old.dir, { recursive: true, force: true });
  };
  const staticBytes = modelBytes(model);
  let peakBytes: MemoryByComponent | null = null;
  let step = startStep;
  for (; step < options.steps; step++) {
    if (options.signal?.aborted) {
      await save(step);
      throw new TrainingInterrupted(step, lastCheckpoint);
    }
    optimizer.lr = schedule(step);
    const batch = data.nextBatch();
    const withHealth = fp8Layers.length > 0 && options.healthEvery > 0 && (step + 1) % options.healthEvery === 0;
    if (withHealth) probe.arm();
    const measureMemory = step === startStep || (step + 1) % options.evalEvery === 0;
    let activations = 0;
    const { value, grads } = tidy(() => {
      const before = memory().numBytes;
      const result = valueAndGrads(() => {
        const loss = model.loss(...batchTensors(batch));
        if (measureMemory) activations = memory().numBytes - before;
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
      const bytes = { ...staticBytes, optimizer: optimizer.stateBytes(), activations };
      log({ type: 'memory', step: step + 1, bytes });
      peakBytes = peakBytes ? maxByComponent(peakBytes, bytes) : bytes;
    }
    if (withHealth) {
      log({ type: 'health', step: step + 1, tokens, layers: health });
      for (const warning of healthWarnings(step + 1, health, options)) {
        log({ type: 'warning', ...warning });
        options.onWarning?.(warning);
      }
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
    backend: options.backend,
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
    peak_bytes: summaryBytes(peakBytes ?? { ...staticBytes, optimizer: optimizer.stateBytes(), activations: 0 }),
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
  const { resume: _r, overwrite: _o, signal: _s, onStep: _a, onEval: _b, onWarning: _c, ...config } = options;
  return config;
}

function modelConfig(options: RunConfig, vocabSize: number) {
  const dims = {
    ...(options.width ? { dim: options.width, mlpHidden: 4 * options.width } : {}),
    ...(options.layers ? { layers: options.layers } : {}),
    ...(options.heads ? { heads: options.heads } : {}),
    ...(options.context ? { contextLength: options.context } : {}),
  };
  return gptConfig(options.model, { recipe: options.recipe, seed: options.seed, vocabSize, ...dims });
}

/** Scalars the optimizer needs beyond its tensors to resume exactly (positions, seeds). */
function optimizerScalars(optimizer: Optimizer): Record<string, StateScalar> | undefined {
  return optimizer.stateDict().scalars;
}

function modelBytes(model: Gpt): Omit<MemoryByComponent, 'optimizer' | 'activations'> {
  let weights = 0;
  let state = 0;
  for (const [, v] of model.namedVariables()) {
    if (v.trainable) weights += v.size * 4;
    else state += v.size * 4;
  }
  return { weights, gradients: weights, fp8ScalingState: state };
}

function maxByComponent(a: MemoryByComponent, b: MemoryByComponent): MemoryByComponent {
  return {
    weights: Math.max(a.weights, b.weights),
    gradients: Math.max(a.gradients, b.gradients),
    optimizer: Math.max(a.optimizer, b.optimizer),
    fp8ScalingState: Math.max(a.fp8ScalingState, b.fp8ScalingState),
    activations: Math.max(a.activations, b.activations),
  };
}

function summaryBytes({ weights, gradients, optimizer, fp8ScalingState, activations }: MemoryByComponent): PeakBytes {
  return { weights, gradients, optimizer, fp8_scaling_state: fp8ScalingState, activations };
}

/** Warnings for operands whose saturated or flushed fraction is above the thresholds. */
export function healthWarnings(
  step: number,
  health: readonly Fp8OperandHealth[],
  { saturationWarn, underflowWarn }: { saturationWarn: number; underflowWarn: number },
): HealthWarning[] {
  const out: HealthWarning[] = [];
  const pct = (f: number) => `${(f * 100).toPrecision(3)}%`;
  for (const h of health) {
    if (h.saturated > saturationWarn) {
      out.push({
        step,
        layer: h.layer,
        operand: h.operand,
        kind: 'saturation',
        fraction: h.saturated,
        threshold: saturationWarn,
        message: `step ${step}: ${h.layer} ${h.operand}: ${pct(h.saturated)} of elements saturate ${h.format} (|x·scale| > ${FP8_FORMATS[h.format].max}; amax ${h.amax.toPrecision(3)}, scale ${h.scale.toPrecision(3)}; threshold ${pct(saturationWarn)})`,
      });
    }
    if (h.flushed > underflowWarn) {
      out.push({
        step,
        layer: h.layer,
        operand: h.operand,
        kind: 'underflow',
        fraction: h.flushed,
        threshold: underflowWarn,
        message: `step ${step}: ${h.layer} ${h.operand}: ${pct(h.flushed)} of nonzero elements flush to zero in ${h.format} (amax ${h.amax.toPrecision(3)}, scale ${h.scale.toPrecision(3)}; threshold ${pct(underflowWarn)})`,
      });
    }
  }
  return out;
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
