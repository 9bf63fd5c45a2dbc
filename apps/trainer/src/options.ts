/** Command-line arguments → a run: `--resume RUN` continues a run from its saved config; anything else starts one. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type RunConfig, type RunConfigInput, readConfigFile, resolveRunConfig } from './config.js';

export interface ParsedTrainArgs extends RunConfig {
  resume?: boolean;
  overwrite?: boolean;
}

/**
 * The run the flags describe. With `--resume RUN`, RUN/config.json is the base and other flags
 * override it (a changed `--steps` also changes the lr schedule: the continuation is then no
 * longer the uninterrupted run's).
 */
export function parseTrainArgs(args: Record<string, unknown>): ParsedTrainArgs {
  if (args.resume !== undefined && args.resume !== '') {
    const dir = String(args.resume);
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`--resume: got "${dir}"; allowed: a run directory (one holding config.json)`);
    if (args.preset || args.config)
      throw new Error('--resume: a resumed run takes its config from RUN/config.json; allowed: no --preset or --config beside it');
    const config = resolveRunConfig(args, readConfigFile(path) as RunConfigInput);
    return { ...config, outDir: dir, resume: true };
  }
  return { ...resolveRunConfig(args), overwrite: args.overwrite === true || args.overwrite === 'true' };
}
