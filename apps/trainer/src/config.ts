/**
 * The run config: one zod schema for everything that determines a run, named presets, config
 * files (JSON or YAML) and flags. Precedence: defaults < preset < config file < flags. Errors name
 * the field (or flag) and what is allowed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ACTIVATION_STORAGES, check, RECIPE_NAMES, recipeByName } from '@octet/core';
import { GPT_PRESETS, RECOMPUTE_MODES } from '@octet/models';
import { OPTIMIZER_NAMES } from '@octet/optim';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BACKENDS } from './backends.js';

const MODEL_NAMES = Object.keys(GPT_PRESETS) as [keyof typeof GPT_PRESETS, ...(keyof typeof GPT_PRESETS)[]];

const int = (min: number) =>
  z
    .number({ error: `an integer ≥ ${min}` })
    .int({ error: `an integer ≥ ${min}` })
    .min(min, { error: `an integer ≥ ${min}` });
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: values.join(', ') });
const fraction = z.number({ error: 'a number in [0, 1]' }).min(0, { error: 'a number in [0, 1]' }).max(1, { error: 'a number in [0, 1]' });
const positive = z.number({ error: 'a number > 0' }).positive({ error: 'a number > 0' });

export const RunConfigSchema = z.strictObject({
  /** Run name: the run directory is `runs/<name>` unless `outDir` says otherwise (default: the first free of default, default-2, ...). */
  name: z
    .string({ error: 'a string' })
    .regex(/^[\w.-]+$/, { error: 'letters, digits, _ . -' })
    .optional(),
  outDir: z.string({ error: 'a path' }).optional(),
  model: oneOf(MODEL_NAMES).default('small'),
  /** Overrides of the model preset's dimensions (the MLP stays 4 × width). */
  width: int(8).optional(),
  layers: int(1).optional(),
  heads: int(1).optional(),
  context: int(2).optional(),
  recipe: oneOf(RECIPE_NAMES as unknown as [string, ...string[]]).default('unitScaling'),
  /** How activations are saved for backward: 'fp8' (COAT; FP8 recipes only) or 'f32'; default: the recipe's ('fp8' for the FP8 recipes). */
  activations: oneOf(ACTIVATION_STORAGES as unknown as [string, ...string[]]).optional(),
  /** Forward recomputed in backward to save memory: 'none', 'attention' (probabilities, the default: they are never kept) or 'block' (whole blocks). */
  recompute: oneOf(RECOMPUTE_MODES as unknown as [string, ...string[]]).default('attention'),
  optimizer: oneOf(OPTIMIZER_NAMES as unknown as [string, ...string[]]).default('adamw'),
  /** Peak learning rate; default per parametrisation (see `defaultLearningRate`). */
  lr: positive.optional(),
  weightDecay: z.number({ error: 'a number ≥ 0' }).min(0, { error: 'a number ≥ 0' }).default(0.1),
  betas: z.tuple([fraction, fraction], { error: 'two numbers in [0, 1)' }).default([0.9, 0.95]),
  /** Final lr of the cosine, as a fraction of the peak. */
  minLrRatio: fraction.default(0.1),
  /** Global gradient-norm clip. */
  clip: positive.default(1),
  steps: int(1).default(200),
  batch: int(1).default(8),
  warmup: int(0).default(20),
  seed: int(0).default(0),
  evalEvery: int(1).default(50),
  evalWindows: int(1).default(64),
  /** Checkpoint every N steps (and at exit); default: at every evaluation. */
  checkpointEvery: int(1).optional(),
  /** Checkpoints kept in `checkpoints/` (the newest). */
  keepCheckpoints: int(1).default(2),
  /** Log FP8 operand health every N steps (0: never). */
  healthEvery: int(0).default(25),
  /** Warn when this fraction of a tensor saturates... */
  saturationWarn: fraction.default(1e-3),
  /** ...or this fraction of its nonzero elements flush to zero. */
  underflowWarn: fraction.default(1e-2),
  backend: oneOf(BACKENDS).default('cpu'),
  /** CPU backend: threads for large matmuls (default: one per core). */
  threads: int(1).optional(),
  sampleTokens: int(0).default(120),
});

export type RunConfigInput = z.input<typeof RunConfigSchema>;
type ActivationStorage = (typeof ACTIVATION_STORAGES)[number];
type Recompute = (typeof RECOMPUTE_MODES)[number];
export type RunConfig = Omit<z.output<typeof RunConfigSchema>, 'activations' | 'recompute'> & {
  name: string;
  outDir: string;
  lr: number;
  checkpointEvery: number;
  activations?: ActivationStorage;
  recompute: Recompute;
};

/** The recipes that can save activations in FP8 (those whose GEMMs run in FP8). */
export const FP8_ACTIVATION_RECIPES = RECIPE_NAMES.filter((name) => recipeByName(name).precision === 'fp8');

/** `activations: 'fp8'` needs an FP8 recipe; `what` names the input (a flag or a config file's field). */
function checkActivations(config: { recipe: string; activations?: string }, what: string): void {
  check(
    config.activations !== 'fp8' || (FP8_ACTIVATION_RECIPES as readonly string[]).includes(config.recipe),
    what,
    config.activations,
    `"f32" with recipe ${config.recipe} (FP8 activations need an FP8 recipe: ${FP8_ACTIVATION_RECIPES.join(', ')})`,
  );
}

/** Named starting points; `tiny`, `small` and `medium` set only the model size. */
export const RUN_PRESETS: Record<string, RunConfigInput> = {
  default: {},
  tiny: { model: 'tiny' },
  small: { model: 'small' },
  medium: { model: 'medium' },
  /** Seconds on one core: for checking that everything runs. */
  'tiny-smoke': {
    model: 'tiny',
    steps: 20,
    batch: 4,
    warmup: 2,
    evalEvery: 10,
    evalWindows: 8,
    checkpointEvery: 5,
    healthEvery: 5,
    sampleTokens: 0,
  },
};

/** Default peak lr per parametrisation, tuned on the default preset. */
export function defaultLearningRate(recipe: string): number {
  return recipe === 'unitScaling' ? 0.5 : 3e-3;
}

/** Validates `input` (from `source`, e.g. a file name) and fills defaults; errors name each bad field. */
export function validateRunConfig(input: unknown, source = 'config'): RunConfig {
  const result = RunConfigSchema.safeParse(input);
  if (!result.success) {
    const fields = Object.keys(RunConfigSchema.shape).join(', ');
    const lines = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `${source}: unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; allowed: ${fields}`;
      const path = issue.path.join('.');
      const got = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], input);
      return `${source}: ${path}: got ${JSON.stringify(got)}; allowed: ${issue.message}`;
    });
    throw new Error(lines.join('\n'));
  }
  const config = result.data as typeof result.data & Pick<RunConfig, 'activations' | 'recompute'>;
  checkActivations(config, `${source}: activations`);
  const name = config.name ?? (config.outDir ? basename(config.outDir) : freeRunName());
  return {
    ...config,
    name,
    outDir: config.outDir ?? `runs/${name}`,
    lr: config.lr ?? defaultLearningRate(config.recipe),
    checkpointEvery: config.checkpointEvery ?? config.evalEvery,
  };
}

/** `default`, or `default-2`, `default-3`... when runs/default already exists: running twice never clobbers a run. */
function freeRunName(): string {
  for (let n = 1; ; n++) {
    const name = n === 1 ? 'default' : `default-${n}`;
    if (!existsSync(`runs/${name}`)) return name;
  }
}

/** Reads a JSON or YAML config file (by extension; anything else is read as YAML, a superset of JSON). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`--config: cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(`--config ${path}: not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

type Args = Record<string, unknown>;

/** The run flags that set a config field: flag name → field, how to parse its string, and its help line. */
export const CONFIG_FLAGS: Record<string, { field: keyof RunConfigInput; kind: 'int' | 'number' | 'string'; description: string }> = {
  name: {
    field: 'name',
    kind: 'string',
    description: 'run name: the run directory is runs/<name> (default: default, or default-2, ... when taken)',
  },
  out: { field: 'outDir', kind: 'string', description: 'run directory (default: runs/<name>)' },
  model: { field: 'model', kind: 'string', description: `model size: ${MODEL_NAMES.join(' | ')} (default: small)` },
  width: { field: 'width', kind: 'int', description: "model width (default: the model size's)" },
  layers: { field: 'layers', kind: 'int', description: "layers (default: the model size's)" },
  heads: { field: 'heads', kind: 'int', description: "attention heads (default: the model size's)" },
  context: { field: 'context', kind: 'int', description: "tokens per sequence (default: the model size's)" },
  recipe: { field: 'recipe', kind: 'string', description: `numerics: ${RECIPE_NAMES.join(' | ')} (default: unitScaling)` },
  activations: {
    field: 'activations',
    kind: 'string',
    description: `activations saved for backward: ${ACTIVATION_STORAGES.join(' | ')} (default: fp8 under the FP8 recipes, else f32)`,
  },
  recompute: {
    field: 'recompute',
    kind: 'string',
    description: `forward recomputed in backward to save memory: ${RECOMPUTE_MODES.join(' | ')} (default: none)`,
  },
  optimizer: { field: 'optimizer', kind: 'string', description: `optimizer: ${OPTIMIZER_NAMES.join(' | ')} (default: adamw)` },
  lr: { field: 'lr', kind: 'number', description: 'peak learning rate (default: 0.5 under unitScaling, else 3e-3)' },
  'weight-decay': { field: 'weightDecay', kind: 'number', description: 'weight decay (default: 0.1)' },
  steps: { field: 'steps', kind: 'int', description: 'optimizer steps (default: 200)' },
  batch: { field: 'batch', kind: 'int', description: 'sequences per step (default: 8)' },
  warmup: { field: 'warmup', kind: 'int', description: 'warmup steps (default: 20)' },
  seed: { field: 'seed', kind: 'int', description: 'random seed: init, data order, sampling (default: 0)' },
  backend: { field: 'backend', kind: 'string', description: `kernels: ${BACKENDS.join(' | ')} (default: cpu)` },
  threads: { field: 'threads', kind: 'int', description: 'CPU backend threads for matmuls (default: one per core)' },
  'eval-every': { field: 'evalEvery', kind: 'int', description: 'validate every N steps (default: 50)' },
  'eval-windows': { field: 'evalWindows', kind: 'int', description: 'validation windows per evaluation (default: 64)' },
  'checkpoint-every': { field: 'checkpointEvery', kind: 'int', description: 'checkpoint every N steps (default: eval-every)' },
  'health-every': { field: 'healthEvery', kind: 'int', description: 'log FP8 health every N steps, 0 for never (default: 25)' },
  'sample-tokens': { field: 'sampleTokens', kind: 'int', description: 'tokens to generate at the end (default: 120)' },
};

/** The flags given (undefined and '' are "not given"), as config fields. */
export function flagOverrides(args: Args): RunConfigInput {
  const out: Record<string, unknown> = {};
  for (const [flag, { field, kind }] of Object.entries(CONFIG_FLAGS)) {
    const raw = args[flag];
    if (raw === undefined || raw === '') continue;
    if (kind === 'string') out[field] = String(raw);
    else {
      const value = Number(raw);
      check(
        Number.isFinite(value) && (kind === 'number' || Number.isInteger(value)),
        `--${flag}`,
        raw,
        kind === 'int' ? 'an integer' : 'a number',
      );
      out[field] = value;
    }
  }
  return out as RunConfigInput;
}

/**
 * The run config from `--preset`, `--config` and the other flags. Flag values are checked
 * against the schema with the flag's name in the error.
 */
export function resolveRunConfig(args: Args, base: RunConfigInput = {}): RunConfig {
  const presetName = args.preset === undefined || args.preset === '' ? undefined : String(args.preset);
  if (presetName !== undefined) check(presetName in RUN_PRESETS, '--preset', presetName, Object.keys(RUN_PRESETS).join(', '));
  const file = args.config ? readConfigFile(String(args.config)) : {};
  check(typeof file === 'object' && file !== null && !Array.isArray(file), `--config ${args.config}`, file, 'a mapping of config fields');
  if (args.config) validateRunConfig(file, String(args.config));
  const flags = flagOverrides(args);
  // Flags are validated on their own first so that errors name the flag.
  const flagErrors = RunConfigSchema.partial().safeParse(flags);
  if (!flagErrors.success) {
    const issue = flagErrors.error.issues[0]!;
    const field = String(issue.path[0]);
    const flag = Object.entries(CONFIG_FLAGS).find(([, f]) => f.field === field)?.[0] ?? field;
    throw new Error(`--${flag}: got ${JSON.stringify(args[flag])}; allowed: ${issue.message}`);
  }
  const merged = { ...base, ...(presetName ? RUN_PRESETS[presetName] : {}), ...(file as object), ...flags } as RunConfigInput;
  if (flags.activations !== undefined)
    checkActivations({ recipe: merged.recipe ?? 'unitScaling', activations: flags.activations }, '--activations');
  return validateRunConfig(merged);
}

/** A subcommand's raw arguments less its own flags (each with its value): the rest go to every run it starts. */
export function flagsForRuns(rawArgs: readonly string[], own: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    if (own.includes(rawArgs[i]!)) i++;
    else flags.push(rawArgs[i]!);
  }
  return flags;
}
