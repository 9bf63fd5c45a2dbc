/**
 * `octet-train compare`: trains the same model on the same data and budget under several recipes,
 * one child process per run (as many at once as there are cores, each on one thread), and prints
 * a table of final validation losses relative to f32.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { check, RECIPE_NAMES } from '@octet/core';
import type { TrainSummary } from './train.js';

export interface CompareOptions {
  recipes: string[];
  /** Flags passed to every run (steps, preset, batch, seed...). */
  flags: string[];
  outDir: string;
  /** Runs at once (default: the number of cores). */
  parallel?: number;
}

export type CompareRow = Omit<TrainSummary, 'losses' | 'sample'>;

export async function compare({ recipes, flags, outDir, parallel = availableParallelism() }: CompareOptions): Promise<CompareRow[]> {
  for (const recipe of recipes) check((RECIPE_NAMES as readonly string[]).includes(recipe), '--recipes', recipe, RECIPE_NAMES.join(', '));
  const cli = join(import.meta.dirname, 'cli.js');
  const rows: CompareRow[] = new Array(recipes.length);
  let next = 0;
  const worker = async () => {
    while (next < recipes.length) {
      const index = next++;
      const recipe = recipes[index]!;
      const args = [cli, ...flags, '--recipe', recipe, '--threads', '1', '--sample-tokens', '0', '--out', join(outDir, recipe)];
      const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 26 });
      rows[index] = JSON.parse(stdout.trim().split('\n').at(-1)!);
      process.stderr.write(`${recipe}: val loss ${rows[index].final_val_loss.toFixed(4)}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, recipes.length) }, worker));
  return rows;
}

/** The comparison as a Markdown table; the loss ratio is against the f32 row when there is one. */
export function compareTable(rows: CompareRow[]): string {
  const f32 = rows.find((r) => r.recipe === 'f32');
  const lines = ['| recipe | peak lr | final val loss | vs f32 | tokens/s (1 thread) |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const ratio = f32 ? `${(((r.final_val_loss - f32.final_val_loss) / f32.final_val_loss) * 100).toFixed(2)}%` : '-';
    lines.push(`| ${r.recipe} | ${r.lr} | ${r.final_val_loss.toFixed(4)} | ${r === f32 ? '—' : ratio} | ${r.tokens_per_s.toFixed(0)} |`);
  }
  return lines.join('\n');
}
