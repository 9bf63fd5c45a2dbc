import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { firstNonFinite, parseTrainArgs, train, unigramCrossEntropy } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'octet-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('octet-train', () => {
  it('trains a tiny model on Brown, validates, checkpoints and samples', async () => {
    const summary = await train({
      ...parseTrainArgs({
        preset: 'tiny',
        steps: '8',
        batch: '4',
        'eval-every': '4',
        'eval-windows': '8',
        'sample-tokens': '10',
        warmup: '2',
      }),
      outDir: join(dir, 'run'),
    });
    expect(summary.steps).toBe(8);
    expect(summary.val_losses.map((v) => v.step)).toEqual([4, 8]);
    expect(summary.losses).toHaveLength(8);
    expect(summary.losses.every(Number.isFinite)).toBe(true);
    expect(summary.final_val_loss).toBeLessThan(Math.log(256));
    expect(summary.sample.startsWith('The ')).toBe(true);
    expect(existsSync(join(dir, 'run', 'model.safetensors'))).toBe(true);
  });

  it('rejects bad flags, naming the flag and what is allowed', () => {
    expect(() => parseTrainArgs({ recipe: 'fp4' })).toThrow(/--recipe: got "fp4"; allowed: f32, bf16, unitScaling, delayed, current/);
    expect(() => parseTrainArgs({ preset: 'xl' })).toThrow(/--preset: got "xl"/);
    expect(() => parseTrainArgs({ backend: 'tpu' })).toThrow(/--backend: got "tpu"/);
    expect(() => parseTrainArgs({ steps: '0' })).toThrow(/--steps: got "0"; allowed: an integer ≥ 1/);
    expect(() => parseTrainArgs({ lr: '-1' })).toThrow(/--lr/);
  });

  it('measures the unigram baseline as cross-entropy under train frequencies', () => {
    // Two equally likely symbols: ln 2 nats (up to add-one smoothing over the 4-symbol vocabulary).
    const value = unigramCrossEntropy([0, 1, 0, 1, 0, 1, 0, 1], [0, 1], 4);
    expect(value).toBeCloseTo(-Math.log(5 / 12), 10);
  });

  it('runs as a CLI and ends with one JSON summary line on stdout', async () => {
    const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
    const { stdout } = await promisify(execFile)(process.execPath, [
      cli,
      '--preset',
      'tiny',
      '--steps',
      '3',
      '--batch',
      '2',
      '--eval-every',
      '3',
      '--eval-windows',
      '2',
      '--sample-tokens',
      '0',
      '--out',
      join(dir, 'cli'),
    ]);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ recipe: 'unitScaling', backend: 'cpu', steps: 3, preset: 'tiny' });
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(['final_val_loss', 'tokens_per_s', 'params', 'checkpoint']));
  });
});

describe('divergence diagnosis', () => {
  it('names the first non-finite parameter, else the first layer whose output is non-finite', async () => {
    const { createCpuBackend } = await import('@octet/backend-cpu');
    const { op, setBackend, tidy } = await import('@octet/core');
    const { Gpt, gptConfig } = await import('@octet/models');
    setBackend(createCpuBackend({ threads: 1 }));
    const model = new Gpt(gptConfig('tiny', { recipe: 'f32' }));
    const batch = { inputs: new Int32Array(8).fill(65), targets: new Int32Array(8).fill(66), batchSize: 1, contextLength: 8 };
    expect(await firstNonFinite(model, batch)).toBe('every activation is finite (the loss itself overflowed)');
    // Huge but finite weights: the logits overflow to ±inf.
    tidy(() => model.head.weight.assign(op.fill(model.head.weight.shape, 3e38)));
    expect(await firstNonFinite(model, batch)).toBe('non-finite values first appear in the output of logits');
    const q = model.blocks[1]!.attention.q.weight;
    tidy(() => q.assign(op.fill(q.shape, Number.NaN)));
    expect(await firstNonFinite(model, batch)).toBe('first non-finite parameter: blocks.1.attn.q.weight');
  });
});

describe('octet-train --backend webgpu', async () => {
  const { createWebGpuBackend, NO_ADAPTER_HELP } = await import('@octet/backend-webgpu');
  const available = await createWebGpuBackend().then(
    () => true,
    () => false,
  );
  if (!available && process.env.CI !== 'true') console.warn(`skipping the WebGPU training test: ${NO_ADAPTER_HELP}`);
  it.runIf(available || process.env.CI === 'true')('trains with the loss curve of the CPU backend', async () => {
    const options = parseTrainArgs({
      preset: 'tiny',
      steps: '4',
      batch: '2',
      'eval-every': '4',
      'eval-windows': '2',
      'sample-tokens': '0',
    });
    const gpu = await train({ ...options, backend: 'webgpu', outDir: join(dir, 'webgpu') });
    const cpu = await train({ ...options, backend: 'cpu', threads: 1, outDir: join(dir, 'cpu') });
    expect(gpu.backend).toBe('webgpu');
    for (const [step, loss] of gpu.losses.entries()) expect(Math.abs(loss - cpu.losses[step]!) / cpu.losses[step]!).toBeLessThan(1e-3);
  });
});
