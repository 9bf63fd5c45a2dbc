import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints, type MetricsRecord, readMetrics } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'octet-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

// Delayed scaling: its amax histories are state too, so this checks that they resume exactly.
const config = {
  model: 'tiny',
  recipe: 'delayed',
  steps: 24,
  batch: 2,
  warmup: 3,
  evalEvery: 12,
  evalWindows: 2,
  checkpointEvery: 3,
  healthEvery: 0,
  threads: 1,
  sampleTokens: 0,
};
const configPath = join(dir, 'tiny.json');
writeFileSync(configPath, JSON.stringify(config));

const losses = (records: MetricsRecord[]) => records.filter((r) => r.type === 'step').map((r) => [r.step, r.loss]);
const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | number | null>((done) => child.on('exit', (code, signal) => done(signal ?? code)));

describe('exact resume', () => {
  it('continues bit-identically after kill -9', async () => {
    const reference = join(dir, 'reference');
    await promisify(execFile)(process.execPath, [cli, '--config', configPath, '--out', reference]);

    const killed = join(dir, 'killed');
    const child = spawn(process.execPath, [cli, '--config', configPath, '--out', killed], { stdio: 'ignore' });
    const exit = exited(child);
    // Kill as soon as the first checkpoint is in place, mid-run.
    while ((await listCheckpoints(killed)).length === 0) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    const kept = await listCheckpoints(killed);
    expect(kept.at(-1)!.step).toBeLessThan(config.steps);
    expect(existsSync(join(killed, 'summary.json'))).toBe(false);

    const { stdout } = await promisify(execFile)(process.execPath, [cli, '--resume', killed]);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary.resumed_from).toBe(kept.at(-1)!.step);
    expect(summary.resumed_from).toBeGreaterThan(0);

    const expected = losses(readMetrics(reference));
    expect(expected).toHaveLength(config.steps);
    // Every step once, each loss equal to the uninterrupted run's to the bit.
    expect(losses(readMetrics(killed))).toEqual(expected);
    const evals = (run: string) => readMetrics(run).filter((r) => r.type === 'eval');
    expect(evals(killed)).toEqual(evals(reference));
    expect(readFileSync(join(killed, 'config.json'), 'utf8')).toContain('"recipe": "delayed"');
  });
});
