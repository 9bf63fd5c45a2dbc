/**
 * Training memory by component, as `octet-train` measures it (its summary's `peak_bytes`): for each
 * recipe × optimizer (× what is recomputed), the default run of the trainer with only those flags
 * changed, on the CPU backend, FP8 health on. Columns:
 * - activations: live bytes saved for backward once the forward has returned;
 * - step peak: the engine's high-water mark of live bytes over a whole step (forward, backward,
 *   clipping, the update, every temporary), and the f32 row's step peak over this row's;
 * - the validation loss at the end of the default budget, against the f32 row's;
 * - tokens/s of the run.
 * For 'medium', one step per row (memory only), and the largest batch of 'medium' whose step peak
 * stays under 1 GiB per recipe.
 *
 *   pnpm bench memory     (OCTET_BENCH_MEM_STEPS=N steps for 'small' rows, default the trainer's 200;
 *                          OCTET_BENCH_MEM_PRESETS=small,medium; OCTET_BENCH_MEM_FIT=0 skips the largest-batch search;
 *                          OCTET_BENCH_MEM_ONLY=regex runs only the rows it matches, and the f32 row)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunConfigInput, resolveRunConfig, type TrainSummary, train } from 'octet-train';

const STEPS = process.env.OCTET_BENCH_MEM_STEPS ? Number(process.env.OCTET_BENCH_MEM_STEPS) : undefined;
const PRESETS = (process.env.OCTET_BENCH_MEM_PRESETS ?? 'small,medium').split(',');
const FIT = process.env.OCTET_BENCH_MEM_FIT !== '0';
/** A regular expression: only the rows whose name matches run (the f32 row always runs, as the baseline). */
const ONLY = process.env.OCTET_BENCH_MEM_ONLY ? new RegExp(process.env.OCTET_BENCH_MEM_ONLY) : null;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

type Setting = Pick<RunConfigInput, 'recipe' | 'optimizer' | 'activations' | 'recompute'>;

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
  { recipe: 'unitScaling', optimizer: 'adamw-fp8', recompute: 'block' },
  { recipe: 'unitScaling', optimizer: 'adamw4bit' },
  { recipe: 'unitScaling', optimizer: 'microadam' },
  { recipe: 'delayed', optimizer: 'adamw', activations: 'f32' },
  { recipe: 'delayed', optimizer: 'adamw' },
  { recipe: 'delayed', optimizer: 'adamw-fp8' },
];

function name({ recipe, optimizer, activations, recompute }: Setting): string {
  const extras = [activations && `${activations} activations`, recompute && `recompute ${recompute}`].filter(Boolean);
  return `${recipe} + ${optimizer}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** The trainer's default run with `setting` and `overrides`, in a directory removed afterwards. */
async function trainRun(setting: Setting, overrides: RunConfigInput): Promise<TrainSummary> {
  const outDir = await mkdtemp(join(tmpdir(), 'octet-bench-memory-'));
  try {
    const config = resolveRunConfig({}, { ...setting, sampleTokens: 0, ...overrides });
    return await train({ ...config, outDir });
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => (bytes / MiB).toFixed(1);

export async function run(): Promise<void> {
  for (const preset of PRESETS) {
    const training = preset === 'small';
    const overrides: RunConfigInput = training
      ? { model: 'small', ...(STEPS === undefined ? {} : { steps: STEPS }) }
      : { model: preset as RunConfigInput['model'], steps: 1, evalWindows: 1, healthEvery: 1 };
    console.log(`\n### ${preset}: ${training ? "the trainer's default run" : 'one step'} per row, FP8 health on, CPU backend`);
    console.log(
      '| recipe + optimizer | weights | grads | optimizer | activations | step peak (f32 ÷ this) | val loss | vs f32 | tokens/s |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    let f32: TrainSummary | null = null;
    for (const setting of SETTINGS) {
      const baseline = setting.recipe === 'f32' && !setting.recompute;
      if (ONLY && !baseline && !ONLY.test(name(setting))) continue;
      const summary = await trainRun(setting, overrides);
      const bytes = summary.peak_bytes;
      if (baseline) f32 = summary;
      const loss = training ? summary.final_val_loss.toFixed(4) : '—';
      const vs = training && f32 ? `${(((summary.final_val_loss - f32.final_val_loss) / f32.final_val_loss) * 100).toFixed(2)}%` : '—';
      const ratio = f32 ? (f32.peak_bytes.step_peak / bytes.step_peak).toFixed(2) : '—';
      console.log(
        `| ${name(setting)} | ${mb(bytes.weights)} | ${mb(bytes.gradients)} | ${mb(bytes.optimizer)} | ${mb(bytes.activations)} | ` +
          `${mb(bytes.step_peak)} (${ratio}×) | ${loss} | ${vs} | ${training ? summary.tokens_per_s.toFixed(0) : '—'} |`,
      );
      if (setting.recipe === 'bf16') {
        // A bf16 framework keeps its saved activations in 2 bytes; octet keeps bf16 values in f32 storage.
        const half = bytes.activations / 2;
        console.log(`| bf16 + adamw, activations counted at 2 bytes | | | | ${mb(half)} | ${mb(bytes.step_peak - half)} | | | |`);
      }
    }
  }
  if (FIT) await largestBatches();
}

/**
 * The largest batch of 'medium' whose step peak stays under 1 GiB, per recipe. The step peak grows
 * linearly with the batch, so two measured points predict the answer; then measured steps walk
 * from the prediction to the boundary (a batch that fits, the next that does not).
 */
async function largestBatches(): Promise<void> {
  console.log('\n### the largest batch of medium (context 256) whose step peak stays under 1 GiB');
  console.log('| recipe + optimizer | batch | its step peak | batch + 1 |');
  console.log('|---|---:|---:|---:|');
  const peak = async (setting: Setting, batch: number) =>
    (await trainRun(setting, { model: 'medium', steps: 1, batch, evalWindows: 1, healthEvery: 1 })).peak_bytes.step_peak;
  const fitted: Setting[] = [
    { recipe: 'f32', optimizer: 'adamw' },
    { recipe: 'bf16', optimizer: 'adamw' },
    { recipe: 'unitScaling', optimizer: 'adamw', activations: 'f32' },
    { recipe: 'unitScaling', optimizer: 'adamw-fp8' },
    { recipe: 'unitScaling', optimizer: 'adamw-fp8', recompute: 'block' },
  ];
  for (const setting of fitted) {
    const [at4, at8] = [await peak(setting, 4), await peak(setting, 8)];
    let batch = Math.max(1, 4 + Math.floor(((GiB - at4) * 4) / (at8 - at4)));
    let bytes = await peak(setting, batch);
    while (bytes > GiB && batch > 1) bytes = await peak(setting, --batch);
    let next = await peak(setting, batch + 1);
    while (next <= GiB) [batch, bytes, next] = [batch + 1, next, await peak(setting, batch + 2)];
    console.log(`| ${name(setting)} | ${batch} | ${mb(bytes)} MiB | ${mb(next)} MiB |`);
  }
}
