import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { firstNonFinite, parseTrainArgs, readMetrics, summariseHealthWarnings, train, unigramCrossEntropy } from '../src/index.js';

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
    // Checkpoints at every evaluation (step 4) and at the end.
    expect(summary.checkpoint).toBe(join(dir, 'run', 'checkpoints', 'step-000008'));
    expect(existsSync(join(dir, 'run', 'checkpoints', 'step-000004', 'model.safetensors'))).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model: 'tiny', recipe: 'unitScaling', lr: 0.5, steps: 8, checkpointEvery: 4 });
    const metrics = readMetrics(join(dir, 'run'));
    expect(metrics.filter((r) => r.type === 'step').map((r) => r.loss)).toEqual(summary.losses);
    expect(metrics.find((r) => r.type === 'step' && r.step === 8)).toMatchObject({ tokens: 8 * 4 * 32 });
    expect(metrics.filter((r) => r.type === 'eval').map((r) => r.step)).toEqual([4, 8]);
    const memory = metrics.find((r) => r.type === 'memory');
    // AdamW: two f32 moments per weight.
    expect(memory?.type === 'memory' && memory.bytes.optimizer === 2 * memory.bytes.weights).toBe(true);
    await expect(train({ ...parseTrainArgs({ preset: 'tiny', steps: '1' }), outDir: join(dir, 'run') })).rejects.toThrow(
      /already holds a run; allowed: --resume .* --overwrite/,
    );
  });

  it('reports peak bytes by component in the summary: weights, gradients, optimizer, FP8 scaling state, activations', async () => {
    // Delayed scaling keeps amax histories (FP8 scaling state); measured at step 1 and at every eval (2, 4).
    const options = parseTrainArgs({
      preset: 'tiny-smoke',
      recipe: 'delayed',
      steps: '4',
      'eval-every': '2',
      'health-every': '0',
      threads: '1',
    });
    const summary = await train({ ...options, optimizer: 'adamw8bit', outDir: join(dir, 'peak') });
    const peak = summary.peak_bytes;
    expect(peak.weights).toBe(4 * summary.params); // f32 master weights
    expect(peak.gradients).toBe(peak.weights);
    expect(peak.optimizer / summary.params).toBe(summary.optimizer_state_bytes_per_param); // the optimizer's stateBytes()
    expect(peak.optimizer).toBeLessThan(peak.weights); // 8-bit moments, a few f32 tensors
    expect(peak.fp8_scaling_state).toBeGreaterThan(0);
    const measured = readMetrics(join(dir, 'peak')).flatMap((r) => (r.type === 'memory' ? [r] : []));
    expect(measured.map((r) => r.step)).toEqual([1, 2, 4]);
    expect(peak.optimizer).toBe(measured[0]!.bytes.optimizer);
    expect(peak.activations).toBe(Math.max(...measured.map((r) => r.bytes.activations)));
    expect(peak.activations).toBeGreaterThan(0);
    expect(peak.fp8_scaling_state).toBe(measured[0]!.bytes.fp8ScalingState);
    expect(JSON.parse(readFileSync(join(dir, 'peak', 'summary.json'), 'utf8')).peak_bytes).toEqual(peak);
    // The step's high-water mark holds at least what is live together at any moment of it: the
    // weights, FP8 state and optimizer state throughout, with the saved activations after the
    // forward and with the gradients before the update.
    for (const { bytes } of measured) {
      const resident = bytes.weights + bytes.fp8ScalingState + bytes.optimizer;
      expect(bytes.stepPeak).toBeGreaterThanOrEqual(resident + bytes.activations);
      expect(bytes.stepPeak).toBeGreaterThanOrEqual(resident + bytes.gradients);
    }
    expect(peak.step_peak).toBe(Math.max(...measured.map((r) => r.bytes.stepPeak)));
    // The process's peak RSS holds everything the engine counts, and more (code, the corpus, workers).
    expect(summary.peak_rss_bytes).toBeGreaterThan(peak.step_peak);
  });

  it('logs FP8 health of every GEMM operand and warns naming the layer', async () => {
    // A tiny threshold so that some operand surely crosses it.
    const options = parseTrainArgs({ preset: 'tiny-smoke', steps: '2', 'health-every': '1', 'eval-every': '2', threads: '1' });
    const warnings: string[] = [];
    const lines: string[] = [];
    await train({
      ...options,
      underflowWarn: 0,
      outDir: join(dir, 'health'),
      onWarnings: (ws) => {
        warnings.push(...ws.map((w) => w.message));
        lines.push(summariseHealthWarnings(ws));
      },
    });
    const health = readMetrics(join(dir, 'health')).filter((r) => r.type === 'health');
    expect(health.map((r) => r.step)).toEqual([1, 2]);
    const layers = health[0]!.type === 'health' ? health[0]!.layers : [];
    expect(layers).toHaveLength(2 * 6 * 3);
    expect(layers.find((l) => l.layer === 'blocks.0.attn.q' && l.operand === 'w')).toMatchObject({ format: 'e4m3fn', scale: 1 });
    expect(layers.every((l) => l.amax > 0 && l.saturated >= 0 && l.flushed >= 0 && l.flushed <= 1)).toBe(true);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatch(/^step 1: blocks\.\d\.(attn|mlp)\.\w+ (x|w|dy): .* flush to zero/);
    // The console gets one line per health step: how many operands, the worst fraction, and their names.
    expect(lines).toHaveLength(2);
    const flushed = readMetrics(join(dir, 'health')).filter((r) => r.type === 'warning' && r.step === 1 && r.kind === 'underflow');
    const worst = Math.max(...flushed.map((r) => (r.type === 'warning' ? r.fraction : 0)));
    expect(lines[0]).toContain(
      `step 1: ${flushed.length} operands flush to zero above 0.00% (worst ${(worst * 100).toPrecision(3)}%, blocks.`,
    );
    if (flushed.length > 8) expect(lines[0]).toContain(`${flushed.length - 8} more in metrics.jsonl`);
  });

  it('takes a YAML or JSON config; presets < file < flags; errors name the field and what is allowed', () => {
    const yaml = join(dir, 'run.yaml');
    writeFileSync(yaml, 'model: tiny\nrecipe: delayed\nsteps: 30\nbatch: 2\noptimizer: adamw8bit\n');
    const config = parseTrainArgs({ preset: 'tiny-smoke', config: yaml, steps: '7' });
    expect(config).toMatchObject({ model: 'tiny', recipe: 'delayed', steps: 7, batch: 2, optimizer: 'adamw8bit', lr: 3e-3 });
    // From the preset, untouched by file and flags:
    expect(config).toMatchObject({ checkpointEvery: 5, healthEvery: 5 });
    // runs/default, or the first free runs/default-N when a run is already there (e.g. after `pnpm train`).
    expect(config.outDir).toMatch(/^runs\/default(-\d+)?$/);
    expect(parseTrainArgs({ name: 'exp1' }).outDir).toBe('runs/exp1');
    const json = join(dir, 'bad.json');
    writeFileSync(json, JSON.stringify({ steps: 0, recipe: 'fp4', betas: [0.9, 2], stepz: 1 }));
    const error = (() => {
      try {
        parseTrainArgs({ config: json });
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(error).toContain('bad.json: unknown field "stepz"; allowed: name, outDir, model');
    expect(error).toContain('bad.json: steps: got 0; allowed: an integer ≥ 1');
    expect(error).toContain('bad.json: recipe: got "fp4"; allowed: f32, bf16, unitScaling, delayed, current');
    expect(error).toContain('bad.json: betas.1: got 2; allowed: a number in [0, 1]');
    writeFileSync(join(dir, 'broken.yaml'), 'steps: [1,');
    expect(() => parseTrainArgs({ config: join(dir, 'broken.yaml') })).toThrow(/--config .*broken\.yaml: not valid YAML/);
    expect(() => parseTrainArgs({ preset: 'huge' })).toThrow(/--preset: got "huge"; allowed: default, tiny, small, medium, tiny-smoke/);
    expect(() => parseTrainArgs({ resume: join(dir, 'nowhere') })).toThrow(/--resume: got ".*nowhere"; allowed: a run directory/);
  });

  it('rejects bad flags, naming the flag and what is allowed', () => {
    expect(() => parseTrainArgs({ recipe: 'fp4' })).toThrow(/--recipe: got "fp4"; allowed: f32, bf16, unitScaling, delayed, current/);
    expect(() => parseTrainArgs({ preset: 'xl' })).toThrow(/--preset: got "xl"/);
    expect(() => parseTrainArgs({ model: 'xl' })).toThrow(/--model: got "xl"; allowed: tiny, small, medium/);
    expect(() => parseTrainArgs({ backend: 'tpu' })).toThrow(/--backend: got "tpu"; allowed: cpu, webgpu, tfjs/);
    expect(() => parseTrainArgs({ steps: '0' })).toThrow(/--steps: got "0"; allowed: an integer ≥ 1/);
    expect(() => parseTrainArgs({ steps: 'many' })).toThrow(/--steps: got "many"; allowed: an integer/);
    expect(() => parseTrainArgs({ lr: '-1' })).toThrow(/--lr: got "-1"; allowed: a number > 0/);
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

  it('compares recipes × optimizers: a table, results and a report', async () => {
    const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
    const out = join(dir, 'compare');
    const flags = ['--preset', 'tiny-smoke', '--steps', '3', '--eval-every', '3', '--health-every', '0'];
    const { stdout } = await promisify(execFile)(process.execPath, [
      cli,
      'compare',
      '--recipes',
      'f32',
      '--optimizers',
      'adamw,adamw8bit',
      '--out',
      out,
      ...flags,
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\| recipe \| optimizer \| peak lr \| final val loss \| vs f32 \| optimizer bytes\/param/);
    expect(
      lines.slice(2).map((l) =>
        l
          .split('|')
          .slice(1, 3)
          .map((c) => c.trim()),
      ),
    ).toEqual([
      ['f32', 'adamw'],
      ['f32', 'adamw8bit'],
    ]);
    // AdamW holds two f32 moments per parameter; the 8-bit one about a quarter of that.
    expect(lines[2]).toContain('| 8.00 |');
    expect(readFileSync(join(out, 'compare.md'), 'utf8').trim()).toBe(stdout.trim());
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('f32-adamw8bit');
  });

  it('sweeps lr across widths and records the best lr per width', async () => {
    const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
    const out = join(dir, 'sweep');
    const args = ['sweep', '--recipes', 'unitScaling', '--widths', '16,32', '--lr-factors', '0.01,1', '--out', out];
    await promisify(execFile)(process.execPath, [cli, ...args, '--preset', 'tiny-smoke', '--steps', '4', '--eval-every', '4']);
    const result = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(result.widths).toEqual([16, 32]);
    const [unit] = result.parametrisations;
    expect(unit.results.map((r: { width: number; lr: number }) => [r.width, r.lr])).toEqual([
      [16, 0.005],
      [16, 0.5],
      [32, 0.005],
      [32, 0.5],
    ]);
    // An lr 100× too small barely moves the loss in 4 steps: the default wins at both widths.
    expect(unit.bestLr).toEqual({ '16': 0.5, '32': 0.5 });
    expect(unit.bestLrSpreadSteps).toBe(0);
    expect(readFileSync(join(out, 'sweep.md'), 'utf8')).toContain('| μnit Scaling (unit parametrisation) | 0.5 (');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('data-chart="sweep-0"');
    // Run again into the same directory: the finished runs are reused, not trained again.
    const again = await promisify(execFile)(process.execPath, [
      cli,
      ...args,
      '--preset',
      'tiny-smoke',
      '--steps',
      '4',
      '--eval-every',
      '4',
    ]);
    expect(again.stderr.match(/\(done before\)/g)).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).parametrisations).toEqual(result.parametrisations);
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

  // The compressed optimizers: AdamW8bit, AdamW4bit and AdamWFp8 encode their moments on the device
  // (the tiny model's embedding and head are large enough to be compressed); MicroAdam, AdamSNSM and
  // Grass read part of their step on the host, through `await`.
  it.runIf(available || process.env.CI === 'true')(
    'trains with every compressed optimizer with the loss curve of the CPU backend',
    async () => {
      for (const optimizer of ['adamw8bit', 'adamw4bit', 'adamw-fp8', 'microadam', 'adam-snsm', 'grass'] as const) {
        const options = parseTrainArgs({
          preset: 'tiny',
          steps: '3',
          batch: '2',
          optimizer,
          'eval-every': '3',
          'eval-windows': '2',
          'sample-tokens': '0',
        });
        const gpu = await train({ ...options, backend: 'webgpu', outDir: join(dir, `webgpu-${optimizer}`) });
        const cpu = await train({ ...options, backend: 'cpu', threads: 1, outDir: join(dir, `cpu-${optimizer}`) });
        expect(gpu.optimizer).toBe(optimizer);
        expect(gpu.losses).toHaveLength(3);
        expect(gpu.losses.every(Number.isFinite)).toBe(true);
        for (const [step, loss] of gpu.losses.entries())
          expect(Math.abs(loss - cpu.losses[step]!) / cpu.losses[step]!, `${optimizer} step ${step + 1}`).toBeLessThan(1e-3);
        expect(Math.abs(gpu.final_val_loss / cpu.final_val_loss - 1), `${optimizer} val loss`).toBeLessThan(1e-3);
      }
    },
    600_000,
  );

  // The default model (small, unitScaling FP8, FP8 activations) itself, on batches of one window:
  // SwiftShader runs about 0.05 GFLOP/s, so two steps are what CI can afford. At a tenth of the
  // default lr: the default's first step is so large that one FP8 code saved differently (an
  // activation one f32 step from a rounding boundary) moves the next loss by more than the tolerance.
  it.runIf(available || process.env.CI === 'true')(
    'trains the default model with the loss curve of the CPU backend',
    async () => {
      const options = parseTrainArgs({
        steps: '2',
        batch: '1',
        warmup: '1',
        lr: '0.05',
        'eval-every': '2',
        'eval-windows': '1',
        'sample-tokens': '0',
      });
      expect(options.model).toBe('small');
      const gpu = await train({ ...options, backend: 'webgpu', outDir: join(dir, 'webgpu-default') });
      const cpu = await train({ ...options, backend: 'cpu', threads: 1, outDir: join(dir, 'cpu-default') });
      expect(gpu.losses).toHaveLength(2);
      for (const [step, loss] of gpu.losses.entries()) expect(Math.abs(loss - cpu.losses[step]!) / cpu.losses[step]!).toBeLessThan(1e-3);
      expect(Math.abs(gpu.final_val_loss - cpu.final_val_loss) / cpu.final_val_loss).toBeLessThan(1e-3);
    },
    600_000,
  );
});

describe('octet-train --backend tfjs', () => {
  it('trains on the tfjs engine it finds (wasm here) with the loss curve of the CPU backend', async () => {
    const options = parseTrainArgs({ preset: 'tiny-smoke', steps: '6', 'eval-every': '6', 'checkpoint-every': '6', 'health-every': '0' });
    const tfjs = await train({ ...options, backend: 'tfjs', outDir: join(dir, 'tfjs') });
    const cpu = await train({ ...options, backend: 'cpu', threads: 1, outDir: join(dir, 'cpu-for-tfjs') });
    expect(tfjs.backend).toBe('tfjs');
    expect(tfjs.losses).toHaveLength(6);
    for (const [step, loss] of tfjs.losses.entries()) expect(Math.abs(loss - cpu.losses[step]!) / cpu.losses[step]!).toBeLessThan(1e-3);
    expect(Math.abs(tfjs.final_val_loss - cpu.final_val_loss) / cpu.final_val_loss).toBeLessThan(1e-3);
  });
});
