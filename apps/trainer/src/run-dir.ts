/**
 * The run directory and its metrics log:
 *
 *   <run>/config.json      the resolved config
 *   <run>/metrics.jsonl    one JSON object per line: step, eval, health, warning, memory records
 *   <run>/checkpoints/step-NNNNNN/   model + training state (atomic; the newest `keepCheckpoints`)
 *   <run>/summary.json     the summary, at the end
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fp8OperandHealth } from '@octet/core';
import { writeFileAtomic } from '@octet/models';
import type { HealthWarning } from './health.js';
import type { MemoryByComponent } from './memory.js';

/** A metrics.jsonl record. */
export type MetricsRecord =
  | { type: 'step'; step: number; tokens: number; loss: number; lr: number; tokensPerSecond: number; elapsedSeconds: number }
  | { type: 'eval'; step: number; tokens: number; valLoss: number }
  | { type: 'health'; step: number; tokens: number; layers: Fp8OperandHealth[] }
  | ({ type: 'warning' } & HealthWarning)
  | { type: 'memory'; step: number; bytes: MemoryByComponent }
  | { type: 'resume'; step: number };

export const checkpointName = (step: number) => `step-${String(step).padStart(6, '0')}`;

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

/** Appends one record to the run's metrics.jsonl (whole lines, so a killed process leaves at most one partial). */
export function appendMetrics(runDir: string, record: MetricsRecord): void {
  appendFileSync(join(runDir, 'metrics.jsonl'), `${JSON.stringify(record)}\n`);
}

/**
 * Readies `runDir` for a new run: an error if it holds one, unless `overwrite` (then its
 * checkpoints, metrics and summary go); writes config.json.
 */
export async function startRunDirectory(runDir: string, config: object, overwrite: boolean): Promise<void> {
  if (existsSync(join(runDir, 'metrics.jsonl')) || (await listCheckpoints(runDir)).length > 0) {
    if (!overwrite) {
      throw new Error(
        `${runDir} already holds a run; allowed: --resume ${runDir} to continue it, --overwrite to replace it, or another --name/--out`,
      );
    }
    await rm(join(runDir, 'checkpoints'), { recursive: true, force: true });
    await rm(join(runDir, 'metrics.jsonl'), { force: true });
    await rm(join(runDir, 'summary.json'), { force: true });
  }
  await mkdir(runDir, { recursive: true });
  await writeRunConfig(runDir, config);
}

/** Writes the run's config.json: the config that runs (a resumed run's, with its flags applied). */
export async function writeRunConfig(runDir: string, config: object): Promise<void> {
  await writeFileAtomic(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Drops the records of steps after `step` (they will run again) and notes the resume. */
export async function truncateMetricsForResume(runDir: string, step: number): Promise<void> {
  const kept = readMetrics(runDir).filter((r) => !('step' in r) || r.step <= step);
  kept.push({ type: 'resume', step });
  await writeFileAtomic(join(runDir, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Deletes all but the newest `keep` checkpoints (called once a new one is in place). */
export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.dir, { recursive: true, force: true });
}
