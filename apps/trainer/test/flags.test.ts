// The run flags added for activation memory, --backend auto, and what the CLI refuses.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getBackend } from '@octet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { checkArgs, parseTrainArgs, RUN_FLAGS, readMetrics, train } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'octet-train-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

/** Runs the built CLI; resolves to its exit code and stderr. */
async function runCli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { cwd: dir });
    return { code: 0, stderr, stdout };
  } catch (error) {
    const { code, stderr, stdout } = error as { code: number; stderr: string; stdout: string };
    return { code, stderr, stdout };
  }
}

describe('--activations and --recompute', () => {
  it('set the model config, from flags or a config file, and land in config.json', async () => {
    expect(parseTrainArgs({ activations: 'f32', recompute: 'block' })).toMatchObject({ activations: 'f32', recompute: 'block' });
    // Defaults: the recipe's storage (left unset); attention probabilities recomputed, never kept.
    const defaults = parseTrainArgs({});
    expect(defaults.activations).toBeUndefined();
    expect(defaults.recompute).toBe('attention');
    const yaml = join(dir, 'memory.yaml');
    writeFileSync(yaml, 'recipe: delayed\nactivations: fp8\nrecompute: block\n');
    expect(parseTrainArgs({ config: yaml })).toMatchObject({ recipe: 'delayed', activations: 'fp8', recompute: 'block' });
    expect(parseTrainArgs({ config: yaml, recompute: 'none' }).recompute).toBe('none');

    const options = parseTrainArgs({
      preset: 'tiny-smoke',
      steps: '2',
      'eval-every': '2',
      activations: 'f32',
      recompute: 'block',
      threads: '1',
    });
    const summary = await train({ ...options, outDir: join(dir, 'run') });
    expect(summary.losses.every(Number.isFinite)).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ activations: 'f32', recompute: 'block' });
    // The checkpoint's model config carries them too.
    const modelConfig = JSON.parse(readFileSync(join(summary.checkpoint, 'config.json'), 'utf8'));
    expect(modelConfig).toMatchObject({ activations: 'f32', recompute: 'block' });
  });

  it('apply to a resumed run, which records them in config.json', async () => {
    const run = join(dir, 'resumed');
    const first = parseTrainArgs({ preset: 'tiny-smoke', steps: '2', 'eval-every': '2', threads: '1' });
    await train({ ...first, outDir: run });
    const readConfig = (path: string) => JSON.parse(readFileSync(join(path, 'config.json'), 'utf8'));
    expect(readConfig(run)).toMatchObject({ recompute: 'attention', steps: 2 });
    expect(readConfig(run).activations).toBeUndefined();

    const resumed = parseTrainArgs({ resume: run, steps: '3', activations: 'f32', recompute: 'block' });
    expect(resumed).toMatchObject({ resume: true, outDir: run, activations: 'f32', recompute: 'block' });
    const summary = await train(resumed);
    expect(summary.resumed_from).toBe(2);
    expect(summary.losses.every(Number.isFinite)).toBe(true);
    expect(readConfig(run)).toMatchObject({ model: 'tiny', activations: 'f32', recompute: 'block', steps: 3 });
    // The model that ran: the checkpoint it saved carries them.
    expect(readConfig(summary.checkpoint)).toMatchObject({ activations: 'f32', recompute: 'block' });
  });

  it("but model flags beside --resume that differ from the run's are errors: a resumed run keeps its model", async () => {
    const run = join(dir, 'resumed');
    const keeps = 'a resumed run keeps its model';
    expect(() => parseTrainArgs({ resume: run, width: '64' })).toThrow(`--width: got 64; allowed: 32 or no --width: ${keeps}`);
    expect(() => parseTrainArgs({ resume: run, model: 'small' })).toThrow(`--model: got "small"; allowed: "tiny" or no --model: ${keeps}`);
    expect(() => parseTrainArgs({ resume: run, layers: '3' })).toThrow(`--layers: got 3; allowed: 2 or no --layers: ${keeps}`);
    expect(() => parseTrainArgs({ resume: run, heads: '4' })).toThrow(`--heads: got 4; allowed: 2 or no --heads: ${keeps}`);
    expect(() => parseTrainArgs({ resume: run, context: '64' })).toThrow(`--context: got 64; allowed: 32 or no --context: ${keeps}`);
    expect(() => parseTrainArgs({ resume: run, recipe: 'f32' })).toThrow(
      `--recipe: got "f32"; allowed: "unitScaling" or no --recipe: ${keeps}`,
    );
    // The run's own values (its model size's dimensions included) are fine.
    expect(parseTrainArgs({ resume: run, model: 'tiny', width: '32', context: '32', recipe: 'unitScaling' })).toMatchObject({
      resume: true,
      model: 'tiny',
    });
    const { code, stderr } = await runCli(['--resume', run, '--layers', '3']);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`--layers: got 3; allowed: 2 or no --layers: ${keeps}`);
  });

  it('reject values outside the allowed set, naming the flag (or field) and the values', () => {
    expect(() => parseTrainArgs({ recompute: 'layers' })).toThrow('--recompute: got "layers"; allowed: none, attention, block');
    expect(() => parseTrainArgs({ activations: 'fp16' })).toThrow('--activations: got "fp16"; allowed: f32, fp8');
    const json = join(dir, 'bad-memory.json');
    writeFileSync(json, JSON.stringify({ recompute: 'all', activations: 'int8' }));
    expect(() => parseTrainArgs({ config: json })).toThrow(/bad-memory\.json: activations: got "int8"; allowed: f32, fp8/);
    expect(() => parseTrainArgs({ config: json })).toThrow(/bad-memory\.json: recompute: got "all"; allowed: none, attention, block/);
  });

  it('rejects FP8 activations under a recipe that cannot save them, saying which recipes can', () => {
    const allowed = '"f32" with recipe f32 (FP8 activations need an FP8 recipe: unitScaling, delayed, current)';
    expect(() => parseTrainArgs({ recipe: 'f32', activations: 'fp8' })).toThrow(`--activations: got "fp8"; allowed: ${allowed}`);
    expect(() => parseTrainArgs({ recipe: 'bf16', activations: 'fp8' })).toThrow(
      /--activations: got "fp8"; allowed: "f32" with recipe bf16/,
    );
    const yaml = join(dir, 'f32-fp8.yaml');
    writeFileSync(yaml, 'recipe: f32\nactivations: fp8\n');
    expect(() => parseTrainArgs({ config: yaml })).toThrow(`f32-fp8.yaml: activations: got "fp8"; allowed: ${allowed}`);
    // A flag that makes the file's choice valid is fine.
    expect(parseTrainArgs({ recipe: 'delayed', activations: 'fp8' })).toMatchObject({ recipe: 'delayed', activations: 'fp8' });
  });
});

describe('arguments a command does not take', () => {
  it('are errors naming the flag or subcommand and what is allowed', () => {
    expect(() => checkArgs(['--tokenizer', 'bpe'], RUN_FLAGS, 'octet-train')).toThrow(
      /^octet-train: unknown flag --tokenizer; allowed: --preset, --config/,
    );
    expect(() => checkArgs(['--mlp=swiglu'], RUN_FLAGS, 'octet-train')).toThrow(/unknown flag --mlp; allowed: /);
    expect(() => checkArgs(['stability', '--steps', '2'], RUN_FLAGS, 'octet-train')).toThrow(
      'octet-train: unknown subcommand "stability"; allowed: compare, sweep, report, or flags alone to train one run',
    );
    expect(() => checkArgs(['--steps', '2', 'extra'], RUN_FLAGS, 'octet-train')).toThrow('octet-train: unexpected argument "extra"');
    // Flag values are not mistaken for arguments; booleans take none.
    expect(() =>
      checkArgs(['--steps', '2', '--overwrite', '--name=x', '--recompute', 'block', '--help'], RUN_FLAGS, 'octet-train'),
    ).not.toThrow();
  });

  it('stop the CLI before it trains anything', async () => {
    for (const args of [
      ['--tokenizer', 'bpe'],
      ['--mlp', 'swiglu'],
      ['stability', '--steps', '2'],
      ['compare', '--recipe-list', 'f32'],
    ]) {
      const { code, stderr } = await runCli(args);
      expect(code, args.join(' ')).not.toBe(0);
      expect(stderr, args.join(' ')).toMatch(/unknown (flag|subcommand)/);
    }
    expect(() => readMetrics(join(dir, 'runs', 'default'))).not.toThrow();
    expect(readMetrics(join(dir, 'runs', 'default'))).toEqual([]);
  });
});

describe('--backend auto', () => {
  it('picks through the registry and says what it picked and why', async () => {
    const descriptions: string[] = [];
    const options = parseTrainArgs({
      preset: 'tiny-smoke',
      steps: '1',
      'eval-every': '1',
      'eval-windows': '1',
      backend: 'auto',
      threads: '1',
    });
    const summary = await train({ ...options, outDir: join(dir, 'auto'), onBackend: (d) => descriptions.push(d) });
    expect(descriptions).toHaveLength(1);
    // webgpu first when a real adapter exists, else the CPU (also when WebGPU runs on SwiftShader,
    // emulated in software); the summary names the one that ran.
    const webgpu = await getBackend('webgpu').catch(() => null);
    expect(summary.backend).toBe(webgpu !== null && webgpu.emulated === undefined ? 'webgpu' : 'cpu');
    expect(descriptions[0]).toMatch(
      new RegExp(`^--backend auto picked ${summary.backend}.*: the first that starts on a real device in the order webgpu > cpu > tfjs`),
    );
    if (webgpu === null) expect(descriptions[0]).toMatch(/skipped webgpu \(.*no WebGPU adapter/);
    else if (webgpu.emulated !== undefined)
      expect(descriptions[0]).toContain(`skipped webgpu (runs on an emulated device (${webgpu.emulated}): slower than cpu)`);
  });
});

describe('the package', () => {
  it('builds its bin as an executable file (pnpm build and pnpm test build it)', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    const bin = join(import.meta.dirname, '..', pkg.bin['octet-train']);
    expect(bin).toBe(cli);
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
