/**
 * `octet-train sweep`: μnit Scaling's width transfer. Short trainings over a grid of peak learning
 * rates at several widths, under μnit Scaling and a standard parametrisation; the best lr per width
 * says whether the optimum stays put as the model widens (within one grid step) or moves.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { check, RECIPE_NAMES } from '@octet/core';
import { defineCommand } from 'citty';
import { defaultLearningRate, flagsForRuns } from './config.js';
import { checkArgs, RUN_FLAGS } from './options.js';
import { writeReport } from './report.js';

export interface SweepOptions {
  /** Recipes to sweep; each uses its own parametrisation (unitScaling: unit, the rest: standard). */
  recipes: string[];
  widths: number[];
  /** The lr grid as multiples of each recipe's default lr (a geometric grid: one step is one ratio). */
  lrFactors: number[];
  /** Flags passed to every run (steps, model, batch...). */
  flags: string[];
  outDir: string;
  parallel?: number;
}

export interface SweepResult {
  widths: number[];
  lrFactors: number[];
  parametrisations: {
    recipe: string;
    label: string;
    /** valLoss null: the run diverged. */
    results: { width: number; lr: number; valLoss: number | null }[];
    /** Best lr per width (by width as a string key). */
    bestLr: Record<string, number | null>;
    /** Largest distance between two widths' best lrs, in grid steps. */
    bestLrSpreadSteps: number;
  }[];
  flags: string[];
}

const label = (recipe: string) =>
  recipe === 'unitScaling' ? 'μnit Scaling (unit parametrisation)' : `${recipe} (standard parametrisation)`;

export async function sweep({
  recipes,
  widths,
  lrFactors,
  flags,
  outDir,
  parallel = availableParallelism(),
}: SweepOptions): Promise<SweepResult> {
  for (const recipe of recipes) check((RECIPE_NAMES as readonly string[]).includes(recipe), '--recipes', recipe, RECIPE_NAMES.join(', '));
  for (const w of widths) check(Number.isInteger(w) && w >= 8, '--widths', w, 'integers ≥ 8');
  for (const f of lrFactors) check(Number.isFinite(f) && f > 0, '--lr-factors', f, 'numbers > 0');
  const factors = [...lrFactors].sort((a, b) => a - b);
  const cli = join(import.meta.dirname, 'cli.js');
  const jobs = recipes.flatMap((recipe) =>
    widths.flatMap((width) =>
      factors.map((factor, grid) => ({ recipe, width, grid, lr: Number((defaultLearningRate(recipe) * factor).toPrecision(6)) })),
    ),
  );
  const losses: (number | null)[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const { recipe, width, lr } = jobs[index]!;
      const dir = join(outDir, `${recipe}-w${width}-lr${lr}`);
      const args = [cli, ...flags, '--recipe', recipe, '--width', String(width), '--lr', String(lr), '--threads', '1'];
      args.push('--sample-tokens', '0', '--health-every', '0', '--out', dir, '--overwrite');
      const finished = finishedLoss(dir, args);
      if (finished !== undefined) {
        // The same run finished in an earlier sweep into this directory: a stopped sweep continues where it was.
        losses[index] = finished;
        process.stderr.write(`${recipe} width ${width} lr ${lr}: ${finished?.toFixed(4) ?? 'diverged'} (done before)\n`);
        continue;
      }
      try {
        const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 26 });
        const loss = JSON.parse(stdout.trim().split('\n').at(-1)!).final_val_loss as number;
        losses[index] = Number.isFinite(loss) ? loss : null;
      } catch (error) {
        // A diverged run (non-finite loss) is a result, not a failure of the sweep.
        if (!/training stopped at step/.test(String((error as { stderr?: string }).stderr ?? error))) throw error;
        losses[index] = null;
      }
      await mkdir(dir, { recursive: true });
      writeFileSync(join(dir, 'sweep-run.json'), `${JSON.stringify({ args: args.slice(1), valLoss: losses[index] })}\n`);
      process.stderr.write(`${recipe} width ${width} lr ${lr}: ${losses[index]?.toFixed(4) ?? 'diverged'}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  const result: SweepResult = {
    widths,
    lrFactors: factors,
    flags,
    parametrisations: recipes.map((recipe) => {
      const results = jobs.flatMap((j, i) =>
        j.recipe === recipe ? [{ width: j.width, lr: j.lr, valLoss: losses[i]!, grid: j.grid }] : [],
      );
      const bestGrid = widths.map((width) => {
        const finite = results.filter((r) => r.width === width && r.valLoss !== null);
        return finite.length ? finite.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a)) : null;
      });
      const grids = bestGrid.filter((b) => b !== null).map((b) => b.grid);
      return {
        recipe,
        label: label(recipe),
        results: results.map(({ grid: _g, ...r }) => r),
        bestLr: Object.fromEntries(widths.map((w, i) => [String(w), bestGrid[i]?.lr ?? null])),
        bestLrSpreadSteps: grids.length ? Math.max(...grids) - Math.min(...grids) : Number.NaN,
      };
    }),
  };
  await mkdir(outDir, { recursive: true });
  writeFileSync(join(outDir, 'sweep.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'sweep.md'), `${sweepTable(result)}\n`);
  await writeReport([outDir], join(outDir, 'report.html'));
  return result;
}

/** The val loss (null: diverged) of a run that finished in `dir` with the same flags, else undefined. */
function finishedLoss(dir: string, args: string[]): number | null | undefined {
  const path = join(dir, 'sweep-run.json');
  if (!existsSync(path)) return undefined;
  const record = JSON.parse(readFileSync(path, 'utf8')) as { args: string[]; valLoss: number | null };
  return JSON.stringify(record.args) === JSON.stringify(args.slice(1)) ? record.valLoss : undefined;
}

/** Best lr per width and whether it stayed within one grid step, as Markdown. */
export function sweepTable(result: SweepResult): string {
  const lines = [`| parametrisation | ${result.widths.map((w) => `best lr, width ${w}`).join(' | ')} | spread (grid steps) |`];
  lines.push(`|---|${result.widths.map(() => '---|').join('')}---|`);
  for (const p of result.parametrisations) {
    const best = result.widths.map((w) => {
      const lr = p.bestLr[String(w)];
      const loss = p.results.find((r) => r.width === w && r.lr === lr)?.valLoss;
      return lr === null ? 'all diverged' : `${lr} (${loss?.toFixed(4)})`;
    });
    lines.push(`| ${p.label} | ${best.join(' | ')} | ${p.bestLrSpreadSteps} |`);
  }
  return lines.join('\n');
}

const list = (raw: unknown, flag: string) =>
  String(raw)
    .split(',')
    .map((s) => {
      const v = Number(s);
      check(s.trim() !== '' && Number.isFinite(v), flag, s, 'comma-separated numbers');
      return v;
    });

const sweepArgs = {
  recipes: { type: 'string', description: 'comma-separated recipes', default: 'unitScaling,f32' },
  widths: { type: 'string', description: 'comma-separated model widths', default: '64,128,256' },
  'lr-factors': { type: 'string', description: "lr grid as multiples of each recipe's default lr", default: '0.25,0.5,1,2,4' },
  out: { type: 'string', description: 'directory for the runs, sweep.json, sweep.md and the report', default: 'runs/sweep' },
  parallel: { type: 'string', description: 'runs at once (default: one per core)' },
} as const;

export const sweepCommand = defineCommand({
  meta: { name: 'sweep', description: 'Learning-rate sweep across widths: does the best lr stay put under μnit Scaling?' },
  args: sweepArgs,
  async run({ args, rawArgs }) {
    // Its own flags, and run flags for every run; anything else is an error.
    checkArgs(rawArgs, { ...RUN_FLAGS, ...sweepArgs }, 'octet-train sweep');
    // Every other flag (--steps, --model, --batch...) goes to each run unchanged.
    const flags = flagsForRuns(rawArgs, ['--recipes', '--widths', '--lr-factors', '--out', '--parallel']);
    const parallel = args.parallel ? Number(args.parallel) : undefined;
    if (parallel !== undefined) check(Number.isInteger(parallel) && parallel >= 1, '--parallel', args.parallel, 'an integer ≥ 1');
    const outDir = resolve(String(args.out));
    const result = await sweep({
      recipes: String(args.recipes).split(','),
      widths: list(args.widths, '--widths'),
      lrFactors: list(args['lr-factors'], '--lr-factors'),
      flags,
      outDir,
      parallel,
    });
    process.stdout.write(`${sweepTable(result)}\n`);
    process.stderr.write(`result: ${join(outDir, 'sweep.json')}, report: ${join(outDir, 'report.html')}\n`);
  },
});
