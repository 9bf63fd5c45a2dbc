/**
 * Command-line arguments → a run: `--resume RUN` continues a run from its saved config; anything
 * else starts one. Flags a command does not declare, and arguments it does not take, are errors.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GPT_PRESETS, type GptPresetName } from '@octet/models';
import type { ArgsDef } from 'citty';
import { CONFIG_FLAGS, RUN_PRESETS, type RunConfig, type RunConfigInput, readConfigFile, resolveRunConfig } from './config.js';

/** The run flags (no citty defaults: a flag not given leaves the preset's or config file's value). */
export const RUN_FLAGS: ArgsDef = {
  preset: { type: 'string', description: `named run preset: ${Object.keys(RUN_PRESETS).join(' | ')}` },
  config: { type: 'string', description: 'run config file (.json or .yaml); flags override it' },
  resume: { type: 'string', description: 'continue the run in this directory from its newest checkpoint' },
  overwrite: { type: 'boolean', description: 'replace a run already in the run directory' },
  // Every config flag is read as a string and parsed (and checked) by the config.
  ...Object.fromEntries(Object.entries(CONFIG_FLAGS).map(([flag, { description }]) => [flag, { type: 'string', description }])),
};

/** The subcommands of octet-train; without one, the flags describe one training run. */
export const SUBCOMMANDS = ['compare', 'sweep', 'report'] as const;

/**
 * Rejects what `command` would otherwise ignore: a flag it does not declare (`--tokenizer bpe`
 * would silently train the default run), or a positional argument it does not take (the first
 * one of octet-train itself is an unknown subcommand).
 */
export function checkArgs(rawArgs: readonly string[], declared: ArgsDef, command: string): void {
  const takesPositional = Object.values(declared).some((def) => def.type === 'positional');
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg.startsWith('-') && arg.length > 1) {
      const name = arg.replace(/^--?/, '').split('=')[0]!;
      const def =
        declared[name] ?? (name.startsWith('no-') && declared[name.slice(3)]?.type === 'boolean' ? declared[name.slice(3)] : undefined);
      if (name === 'help' || name === 'h') continue;
      if (def === undefined) {
        const allowed = Object.entries(declared)
          .filter(([, d]) => d.type !== 'positional')
          .map(([flag]) => `--${flag}`);
        throw new Error(`${command}: unknown flag ${arg.split('=')[0]}; allowed: ${allowed.join(', ')} (--help describes them)`);
      }
      if (def.type !== 'boolean' && !arg.includes('=')) i++; // its value
      continue;
    }
    if (takesPositional) continue;
    if (command === 'octet-train' && i === 0)
      throw new Error(`octet-train: unknown subcommand "${arg}"; allowed: ${SUBCOMMANDS.join(', ')}, or flags alone to train one run`);
    throw new Error(`${command}: unexpected argument "${arg}"; allowed: flags only (--help lists them)`);
  }
}

/** The flags that shape the model (and its weights): a resumed run keeps them from its config. */
const MODEL_FLAGS = ['model', 'width', 'layers', 'heads', 'context', 'recipe'] as const;

/** What each model flag comes to in `config`: a dimension it leaves unset is its model size's. */
function modelShape(config: RunConfig): Record<(typeof MODEL_FLAGS)[number], string | number> {
  const size = GPT_PRESETS[config.model as GptPresetName];
  return {
    model: config.model,
    width: config.width ?? size.dim,
    layers: config.layers ?? size.layers,
    heads: config.heads ?? size.heads,
    context: config.context ?? size.contextLength,
    recipe: config.recipe,
  };
}

export interface ParsedTrainArgs extends RunConfig {
  resume?: boolean;
  overwrite?: boolean;
}

/**
 * The run the flags describe. With `--resume RUN`, RUN/config.json is the base and other flags
 * override it (a changed `--steps` also changes the lr schedule: the continuation is then no
 * longer the uninterrupted run's), except the model's: a model flag that differs from the run's
 * is an error. `--activations` and `--recompute` change no weight, so they apply.
 */
export function parseTrainArgs(args: Record<string, unknown>): ParsedTrainArgs {
  if (args.resume !== undefined && args.resume !== '') {
    const dir = String(args.resume);
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`--resume: got "${dir}"; allowed: a run directory (one holding config.json)`);
    if (args.preset || args.config)
      throw new Error('--resume: a resumed run takes its config from RUN/config.json; allowed: no --preset or --config beside it');
    const saved = readConfigFile(path) as RunConfigInput;
    const config = resolveRunConfig(args, saved);
    const [kept, asked] = [modelShape(resolveRunConfig({}, saved)), modelShape(config)];
    for (const flag of MODEL_FLAGS) {
      if (args[flag] !== undefined && asked[flag] !== kept[flag])
        throw new Error(
          `--${flag}: got ${JSON.stringify(asked[flag])}; allowed: ${JSON.stringify(kept[flag])} or no --${flag}: a resumed run keeps its model (${path})`,
        );
    }
    return { ...config, outDir: dir, resume: true };
  }
  return { ...resolveRunConfig(args), overwrite: args.overwrite === true || args.overwrite === 'true' };
}
