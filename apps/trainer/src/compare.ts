/**
 * `octet-train compare`: trains the same model on the same data and budget under several recipes
 * and optimizers, one child process per run (as many at once as there are cores, each on one
 * thread), and writes a Markdown table of final validation losses relative to f32 and the report.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { check, RECIPE_NAMES } from '@octet/core';
import { OPTIMIZER_NAMES } from '@octet/optim';
import { defineCommand } from 'citty';
import { flagsForRuns } from './config.js';
import { checkArgs, RUN_FLAGS } from './options.js';
import { writeReport } from './report.js';
import type { TrainSummary } from './train.js';

export interface CompareOptions {
  recipes: string[];
  /** Optimizers to cross with the recipes (default: adamw). */
  optimizers?: string[];
  /** Flags passed to every run (steps, model, batch, seed...). */
  flags: string[];
  outDir: string;
  /** Runs at once (default: the number of cores). */
  parallel?: number;
}

export type CompareRow = Omit<TrainSummary, 'losses' | 'sample'>;

/** Runs every recipe × optimizer; writes compare.md, results.json and report.html into `outDir`. */
export async function compare({
  recipes,
  optimizers = ['adamw'],
  flags,
  outDir,
  parallel = availableParallelism(),
}: CompareOptions): Promise<CompareRow[]> {
  for (const recipe of recipes) check((RECIPE_NAMES as readonly string[]).includes(recipe), '--recipes', recipe, RECIPE_NAMES.join(', '));
  for (const o of optimizers) check((OPTIMIZER_NAMES as readonly string[]).includes(o), '--optimizers', o, OPTIMIZER_NAMES.join(', '));
  const cli = join(import.meta.dirname, 'cli.js');
  const runs = optimizers.flatMap((optimizer) =>
    recipes.map((recipe) => ({ recipe, optimizer, dir: join(outDir, optimizers.length > 1 ? `${recipe}-${optimizer}` : recipe) })),
  );
  const rows: CompareRow[] = new Array(runs.length);
  let next = 0;
  const worker = async () => {
    while (next < runs.length) {
      const index = next++;
      const { recipe, optimizer, dir } = runs[index]!;
      const args = [
        cli,
        ...flags,
        '--recipe',
        recipe,
        '--optimizer',
        optimizer,
        '--threads',
        '1',
        '--sample-tokens',
        '0',
        '--out',
        dir,
        '--overwrite',
      ];
      const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 26 });
      rows[index] = JSON.parse(stdout.trim().split('\n').at(-1)!);
      process.stderr.write(`${recipe} ${optimizer}: val loss ${rows[index].final_val_loss.toFixed(4)}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, runs.length) }, worker));
  await mkdir(outDir, { recursive: true });
  writeFileSync(join(outDir, 'compare.md'), `${compareTable(rows)}\n`);
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(rows, null, 2)}\n`);
  await writeReport(
    runs.map((r) => r.dir),
    join(outDir, 'report.html'),
  );
  return rows;
}

/** The comparison as a Markdown table; the loss ratio is against the f32 run with the same optimizer, when there is one. */
export function compareTable(rows: CompareRow[]): string {
  const lines = [
    '| recipe | optimizer | peak lr | final val loss | vs f32 | optimizer bytes/param | tokens/s (1 thread) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const f32 = rows.find((x) => x.recipe === 'f32' && x.optimizer === r.optimizer);
    const ratio = f32 ? `${(((r.final_val_loss - f32.final_val_loss) / f32.final_val_loss) * 100).toFixed(2)}%` : '-';
    lines.push(
      `| ${r.recipe} | ${r.optimizer} | ${r.lr} | ${r.final_val_loss.toFixed(4)} | ${r === f32 ? '—' : ratio} | ${r.optimizer_state_bytes_per_param.toFixed(2)} | ${r.tokens_per_s.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

const compareArgs = {
  recipes: { type: 'string', description: 'comma-separated recipes', default: RECIPE_NAMES.join(',') },
  optimizers: { type: 'string', description: 'comma-separated optimizers', default: 'adamw' },
  out: { type: 'string', description: 'directory for the runs, the table and the report', default: 'runs/compare' },
  parallel: { type: 'string', description: 'runs at once (default: one per core)' },
} as const;

export const compareCommand = defineCommand({
  meta: {
    name: 'compare',
    description: 'Train the same model, data and budget under several recipes and optimizers; write a table and a report.',
  },
  args: compareArgs,
  async run({ args, rawArgs }) {
    // Its own flags, and run flags for every run; anything else is an error.
    checkArgs(rawArgs, { ...RUN_FLAGS, ...compareArgs }, 'octet-train compare');
    // Every other flag (--steps, --model, --lr...) goes to each run unchanged.
    const flags = flagsForRuns(rawArgs, ['--recipes', '--optimizers', '--out', '--parallel']);
    const parallel = args.parallel ? Number(args.parallel) : undefined;
    if (parallel !== undefined) check(Number.isInteger(parallel) && parallel >= 1, '--parallel', args.parallel, 'an integer ≥ 1');
    const outDir = resolve(String(args.out));
    const rows = await compare({
      recipes: String(args.recipes).split(','),
      optimizers: String(args.optimizers).split(','),
      flags,
      outDir,
      parallel,
    });
    process.stdout.write(`${compareTable(rows)}\n`);
    process.stderr.write(`table: ${join(outDir, 'compare.md')}, report: ${join(outDir, 'report.html')}\n`);
  },
});
