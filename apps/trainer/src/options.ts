/** The trainer's defaults and flag parsing: every bad value gets an error naming the flag and what is allowed. */
import { check, RECIPE_NAMES } from '@octet/core';
import { GPT_PRESETS } from '@octet/models';
import { OPTIMIZER_NAMES } from '@octet/optim';
import { BACKENDS, type TrainOptions } from './train.js';

export const DEFAULTS = {
  recipe: 'unitScaling',
  preset: 'small',
  backend: 'cpu',
  optimizer: 'adamw',
  steps: 200,
  batch: 8,
  warmup: 20,
  seed: 0,
  outDir: 'runs/default',
  evalEvery: 50,
  evalWindows: 64,
  sampleTokens: 120,
} as const;

type Args = Record<string, unknown>;

function integer(args: Args, flag: string, fallback: number | undefined, min: number): number | undefined {
  const raw = args[flag];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  check(Number.isInteger(value) && value >= min, `--${flag}`, raw, `an integer ≥ ${min}`);
  return value;
}

export function parseTrainArgs(args: Args): Omit<TrainOptions, 'onStep' | 'onEval'> {
  const recipe = String(args.recipe ?? DEFAULTS.recipe);
  check((RECIPE_NAMES as readonly string[]).includes(recipe), '--recipe', recipe, RECIPE_NAMES.join(', '));
  const preset = String(args.preset ?? DEFAULTS.preset);
  check(preset in GPT_PRESETS, '--preset', preset, Object.keys(GPT_PRESETS).join(', '));
  const backend = String(args.backend ?? DEFAULTS.backend);
  check((BACKENDS as readonly string[]).includes(backend), '--backend', backend, BACKENDS.join(', '));
  const optimizer = String(args.optimizer ?? DEFAULTS.optimizer);
  check((OPTIMIZER_NAMES as readonly string[]).includes(optimizer), '--optimizer', optimizer, OPTIMIZER_NAMES.join(', '));
  let lr: number | undefined;
  if (args.lr !== undefined && args.lr !== '') {
    lr = Number(args.lr);
    check(Number.isFinite(lr) && lr > 0, '--lr', args.lr, 'a number > 0');
  }
  return {
    recipe,
    preset,
    backend,
    optimizer,
    steps: integer(args, 'steps', DEFAULTS.steps, 1)!,
    batch: integer(args, 'batch', DEFAULTS.batch, 1)!,
    context: integer(args, 'context', undefined, 2),
    lr,
    warmup: integer(args, 'warmup', DEFAULTS.warmup, 0)!,
    seed: integer(args, 'seed', DEFAULTS.seed, 0)!,
    threads: integer(args, 'threads', undefined, 1),
    outDir: String(args.out ?? DEFAULTS.outDir),
    evalEvery: integer(args, 'eval-every', DEFAULTS.evalEvery, 1)!,
    evalWindows: integer(args, 'eval-windows', DEFAULTS.evalWindows, 1)!,
    sampleTokens: integer(args, 'sample-tokens', DEFAULTS.sampleTokens, 0)!,
  };
}
