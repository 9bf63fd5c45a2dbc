#!/usr/bin/env node
/**
 * octet-train: trains a GPT on the Brown corpus. With no arguments: the `small` preset under μnit
 * Scaling (FP8) on the CPU, in a few minutes on two cores. Progress goes to stderr; the last line
 * on stdout is one JSON summary. Subcommands: compare, sweep, report.
 */
import { resolve } from 'node:path';
import { defineCommand, runMain } from 'citty';
import { SingleBar } from 'cli-progress';
import { compareCommand } from './compare.js';
import { summariseHealthWarnings } from './health.js';
import { checkArgs, parseTrainArgs, RUN_FLAGS } from './options.js';
import { reportCommand } from './report.js';
import { sweepCommand } from './sweep.js';
import { TrainingInterrupted, train } from './train.js';

const main = defineCommand({
  meta: { name: 'octet-train', description: 'Train a GPT on the Brown corpus with FP8 numerics. Subcommands: compare, sweep, report.' },
  args: RUN_FLAGS,
  async run({ args, rawArgs }) {
    checkArgs(rawArgs, RUN_FLAGS, 'octet-train');
    const options = parseTrainArgs(args);
    const bar = new SingleBar({
      format: 'train {bar} {value}/{total} | loss {loss} | {speed} tok/s | ETA {eta_formatted}',
      stream: process.stderr,
      etaBuffer: 20,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 15_000,
    });
    // SIGINT/SIGTERM: finish the step, checkpoint, exit (a second signal kills at once).
    const controller = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n${signal}: stopping after this step and checkpointing\n`);
        controller.abort();
      });
    }
    try {
      const summary = await train({
        ...options,
        outDir: resolve(options.outDir),
        signal: controller.signal,
        onStep: ({ step, loss, tokensPerSecond }) => bar.update(step, { loss: loss.toFixed(4), speed: tokensPerSecond.toFixed(0) }),
        onEval: ({ step, valLoss }) => process.stderr.write(`\nstep ${step}: val loss ${valLoss.toFixed(4)}\n`),
        onBackend: (description) => {
          process.stderr.write(`${description}\n`);
          bar.start(options.steps, 0, { loss: '-', speed: '-' });
        },
        onWarnings: (warnings) => process.stderr.write(`\nFP8 health warning: ${summariseHealthWarnings(warnings)}\n`),
      }).finally(() => bar.stop());
      process.stderr.write(
        `val loss ${summary.final_val_loss.toFixed(4)} nats/token (unigram baseline ${summary.unigram_val_loss.toFixed(4)}), ` +
          `${summary.tokens_per_s.toFixed(0)} tokens/s, run ${summary.run}, checkpoint ${summary.checkpoint}\n` +
          (summary.sample ? `sample: ${JSON.stringify(summary.sample)}\n` : ''),
      );
      const { losses: _losses, sample: _sample, ...line } = summary;
      process.stdout.write(`${JSON.stringify(line)}\n`);
    } catch (error) {
      if (!(error instanceof TrainingInterrupted)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 130;
    }
  },
});

// `octet-train compare|sweep|report ...` runs that subcommand; flags alone are one training run.
const rawArgs = process.argv.slice(3);
if (process.argv[2] === 'compare') runMain(compareCommand, { rawArgs });
else if (process.argv[2] === 'sweep') runMain(sweepCommand, { rawArgs });
else if (process.argv[2] === 'report') runMain(reportCommand, { rawArgs });
else runMain(main);
