/**
 * The optimizers of @octet/optim side by side: the same GPT ('small' preset under recipe f32, so only
 * the optimizer differs), the same Brown batches, seed, schedule and token budget. Reports state
 * bytes per parameter, final validation loss and step time relative to AdamW, all measured here.
 *
 *   pnpm bench optimizers            (OCTET_BENCH_OPT_STEPS=N to change the budget,
 *                                     OCTET_BENCH_OPT_ONLY=regex to run some; AdamW always runs, as the baseline)
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { op, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import { ByteTokenizer, Gpt, gptConfig, loadBrown, packTokenIds, sequentialBatches, type TokenBatch, TokenDataset } from '@octet/models';
import {
  AdamSNSM,
  AdamW,
  AdamW4bit,
  AdamW8bit,
  AdamWFp8,
  clipByGlobalNorm,
  Grass,
  MicroAdam,
  type Optimizer,
  type ParamGroup,
  warmupCosine,
} from '@octet/optim';

const STEPS = Number(process.env.OCTET_BENCH_OPT_STEPS ?? 80);
const BATCH = 4;
const CONTEXT = 32;
const WARMUP = 8;
const LR = 3e-3;
const SEED = 0;
const VAL_WINDOWS = 32;
/** Steps left out of the timing (first-call compilation and allocation). */
const UNTIMED = 3;

type Make = (groups: ParamGroup[]) => Optimizer;

const OPTIMIZERS: [string, Make][] = [
  ['AdamW (f32)', (g) => new AdamW(g, { lr: LR })],
  ['AdamW8bit', (g) => new AdamW8bit(g, { lr: LR })],
  ['AdamWFp8 (COAT expansion)', (g) => new AdamWFp8(g, { lr: LR })],
  ['AdamWFp8, no expansion', (g) => new AdamWFp8(g, { lr: LR, expansion: false })],
  ['AdamW4bit', (g) => new AdamW4bit(g, { lr: LR })],
  ['MicroAdam (1%, m = 10)', (g) => new MicroAdam(g, { lr: LR })],
  ['MicroAdam, lr × 3', (g) => new MicroAdam(g, { lr: 3 * LR })],
  ['AdamSNSM (rank d/4, gap 50)', (g) => new AdamSNSM(g, { lr: LR, gap: 50 })],
  // Subset-Norm divides by the norm of a whole row (128–512 elements), so its steps are ~√n smaller: its lr is usually raised.
  ['AdamSNSM, lr × 10', (g) => new AdamSNSM(g, { lr: 10 * LR, gap: 50 })],
  ['Grass (rows/4, top-norm, K 50)', (g) => new Grass(g, { lr: LR, refreshEvery: 50 })],
];

interface Row {
  name: string;
  lr: number;
  bytesPerParam: number;
  valLoss: number;
  stepMs: number;
  optimizerMs: number;
}

function tensors(batch: TokenBatch): [Tensor, Tensor] {
  const shape = [batch.batchSize, batch.contextLength];
  return [op.tensor(batch.inputs, shape), op.tensor(batch.targets, shape)];
}

/** Medians, not means: this machine may be shared, and a median ignores the steps another process slowed. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function validate(model: Gpt, batches: TokenBatch[]): Promise<number> {
  model.setTraining(false);
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    const loss = tidy(() => model.loss(...tensors(batch)));
    total += ((await loss.data()) as Float32Array)[0]! * batch.batchSize;
    count += batch.batchSize;
    loss.dispose();
  }
  model.setTraining(true);
  return total / count;
}

async function trainOnce(name: string, make: Make, trainIds: Uint16Array | Int32Array, val: TokenBatch[]): Promise<Row> {
  const model = new Gpt(gptConfig('small', { recipe: 'f32', contextLength: CONTEXT, seed: SEED }));
  const optimizer = make(model.parameterGroups());
  const schedule = warmupCosine({ peak: optimizer.lr, warmupSteps: WARMUP, totalSteps: STEPS });
  const data = new TokenDataset(trainIds, { batchSize: BATCH, contextLength: CONTEXT, seed: SEED });
  const stepTimes: number[] = [];
  const optimizerTimes: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    optimizer.lr = schedule(step);
    const batch = data.nextBatch();
    const start = performance.now();
    let optimizerStart = 0;
    const loss = tidy(() => {
      const { value, grads } = valueAndGrads(() => model.loss(...tensors(batch)), optimizer.params());
      const clipped = clipByGlobalNorm(grads, 1).grads;
      optimizerStart = performance.now();
      optimizer.applyGradients(clipped);
      return value;
    });
    const lossValue = ((await loss.data()) as Float32Array)[0]!;
    loss.dispose();
    if (step >= UNTIMED) {
      stepTimes.push(performance.now() - start);
      optimizerTimes.push(performance.now() - optimizerStart);
    }
    if (!Number.isFinite(lossValue)) throw new Error(`${name}: loss ${lossValue} at step ${step + 1}`);
  }
  const row: Row = {
    name,
    lr: schedule(WARMUP - 1),
    bytesPerParam: optimizer.stateBytes() / model.numParameters(),
    valLoss: await validate(model, val),
    stepMs: median(stepTimes),
    optimizerMs: median(optimizerTimes),
  };
  optimizer.dispose();
  model.dispose();
  process.stderr.write(`  ${name}: val ${row.valLoss.toFixed(4)}, ${row.stepMs.toFixed(0)} ms/step\n`);
  return row;
}

export async function run(): Promise<void> {
  setBackend(createCpuBackend());
  const tokenizer = new ByteTokenizer();
  const brown = loadBrown();
  const trainIds = packTokenIds(tokenizer.encode(brown.train.slice(0, 2_000_000)), tokenizer.vocabSize);
  const valIds = packTokenIds(tokenizer.encode(brown.val), tokenizer.vocabSize);
  const val: TokenBatch[] = [];
  let windows = 0;
  for (const batch of sequentialBatches(valIds, { batchSize: 8, contextLength: CONTEXT })) {
    if (windows >= VAL_WINDOWS) break;
    val.push(batch);
    windows += batch.batchSize;
  }
  const rows: Row[] = [];
  const only = process.env.OCTET_BENCH_OPT_ONLY ? new RegExp(process.env.OCTET_BENCH_OPT_ONLY) : null;
  for (const [i, [name, make]] of OPTIMIZERS.entries()) {
    if (i === 0 || !only || only.test(name)) rows.push(await trainOnce(name, make, trainIds, val));
  }
  const base = rows[0]!;
  const params = new Gpt(gptConfig('small', { recipe: 'f32', contextLength: CONTEXT })).numParameters();
  console.log(
    `GPT 'small' (recipe f32, ${params} parameters, context ${CONTEXT}), Brown bytes, batch ${BATCH}, ${STEPS} steps ` +
      `(${STEPS * BATCH * CONTEXT} tokens), warmup ${WARMUP} + cosine to 10%, clip 1, betas (0.9, 0.95), wd 0.1, seed ${SEED}; ` +
      `val loss over ${windows} windows of ${CONTEXT} tokens; times are medians over steps ${UNTIMED + 1}–${STEPS}`,
  );
  console.log('| optimizer | peak lr | state bytes/param | final val loss | step time vs AdamW | optimizer ms/step |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${Number(r.lr.toPrecision(3))} | ${r.bytesPerParam.toFixed(3)} | ${r.valLoss.toFixed(4)} | ${(r.stepMs / base.stepMs).toFixed(2)}x | ${r.optimizerMs.toFixed(0)} |`,
    );
  }
}
