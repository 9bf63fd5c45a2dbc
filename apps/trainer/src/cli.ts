#!/usr/bin/env node
/**
 * octet-train: trains a GPT on the Brown corpus. With no arguments: the `small` preset under μnit
 * Scaling (FP8) on the CPU, in a few minutes on two cores. Progress goes to stderr; the last line
 * on stdout is one JSON summary.
 */
import { resolve } from 'node:path';
import { RECIPE_NAMES } from '@octet/core';
import { GPT_PRESETS } from '@octet/models';
import { OPTIMIZER_NAMES } from '@octet/optim';
import { defineCommand, runMain } from 'citty';
import { SingleBar } from 'cli-progress';
import { compare, compareTable } from './compare.js';
import { DEFAULTS, parseTrainArgs } from './options.js';
import { BACKENDS, train } from './train.js';

const main = defineCommand({
  meta: { name: 'octet-train', description: 'Train a GPT on the Brown corpus with FP8 numerics.' },
  args: {
    recipe: { type: 'string', description: `numerics: ${RECIPE_NAMES.join(' | ')}`, default: DEFAULTS.recipe },
    preset: { type: 'string', description: `model size: ${Object.keys(GPT_PRESETS).join(' | ')}`, default: DEFAULTS.preset },
    backend: { type: 'string', description: `kernels: ${BACKENDS.join(' | ')}`, default: DEFAULTS.backend },
    optimizer: { type: 'string', description: `optimizer: ${OPTIMIZER_NAMES.join(' | ')}`, default: DEFAULTS.optimizer },
    steps: { type: 'string', description: 'optimizer steps', default: String(DEFAULTS.steps) },
    batch: { type: 'string', description: 'sequences per step', default: String(DEFAULTS.batch) },
    context: { type: 'string', description: "tokens per sequence (default: the preset's)" },
    lr: { type: 'string', description: 'peak learning rate (default: per recipe)' },
    warmup: { type: 'string', description: 'warmup steps', default: String(DEFAULTS.warmup) },
    seed: { type: 'string', description: 'random seed (init, data order, sampling)', default: String(DEFAULTS.seed) },
    threads: { type: 'string', description: 'CPU backend threads for matmuls (default: one per core)' },
    out: { type: 'string', description: 'checkpoint directory', default: DEFAULTS.outDir },
    'eval-every': { type: 'string', description: 'validate every N steps', default: String(DEFAULTS.evalEvery) },
    'eval-windows': { type: 'string', description: 'validation windows per evaluation', default: String(DEFAULTS.evalWindows) },
    'sample-tokens': { type: 'string', description: 'tokens to generate at the end', default: String(DEFAULTS.sampleTokens) },
  },
  async run({ args }) {
    const options = parseTrainArgs(args);
    const bar = new SingleBar({
      format: 'train {bar} {value}/{total} | loss {loss} | {speed} tok/s | ETA {eta_formatted}',
      stream: process.stderr,
      etaBuffer: 20,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 15_000,
    });
    bar.start(options.steps, 0, { loss: '-', speed: '-' });
    const summary = await train({
      ...options,
      outDir: resolve(options.outDir),
      onStep: ({ step, loss, tokensPerSecond }) => bar.update(step, { loss: loss.toFixed(4), speed: tokensPerSecond.toFixed(0) }),
      onEval: ({ step, valLoss }) => process.stderr.write(`\nstep ${step}: val loss ${valLoss.toFixed(4)}\n`),
    }).finally(() => bar.stop());
    process.stderr.write(
      `val loss ${summary.final_val_loss.toFixed(4)} nats/token (unigram baseline ${summary.unigram_val_loss.toFixed(4)}), ` +
        `${summary.tokens_per_s.toFixed(0)} tokens/s, checkpoint ${summary.checkpoint}\n` +
        `sample: ${JSON.stringify(summary.sample)}\n`,
    );
    const { losses: _losses, sample: _sample, ...line } = summary;
    process.stdout.write(`${JSON.stringify(line)}\n`);
  },
});

const compareCommand = defineCommand({
  meta: { name: 'compare', description: 'Train the same model, data and budget under several recipes; print a table.' },
  args: {
    recipes: { type: 'string', description: 'comma-separated recipes', default: RECIPE_NAMES.join(',') },
    out: { type: 'string', description: 'directory for the runs', default: 'runs/compare' },
    parallel: { type: 'string', description: 'runs at once (default: one per core)' },
  },
  async run({ args, rawArgs }) {
    // Every other flag (--steps, --preset, --lr...) goes to each run unchanged.
    const own = new Set(['--recipes', '--out', '--parallel']);
    const flags: string[] = [];
    for (let i = 0; i < rawArgs.length; i++) {
      if (own.has(rawArgs[i]!)) i++;
      else flags.push(rawArgs[i]!);
    }
    const parallel = args.parallel ? Number(args.parallel) : undefined;
    const rows = await compare({ recipes: String(args.recipes).split(','), flags, outDir: resolve(String(args.out)), parallel });
    process.stdout.write(`${compareTable(rows)}\n`);
  },
});

// `octet-train compare ...` compares recipes; anything else is one training run.
if (process.argv[2] === 'compare') runMain(compareCommand, { rawArgs: process.argv.slice(3) });
else runMain(main);
