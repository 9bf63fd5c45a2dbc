#!/usr/bin/env node
/** octet-serve: an OpenAI-compatible HTTP server for an octet GPT checkpoint. */
import { TFJS_ENGINE_REQUESTS, type TfjsEngineRequest } from '@octet/backend-tfjs';
import { check } from '@octet/core';
import { defineCommand, runMain } from 'citty';
import { SERVER_BACKENDS, type ServerBackend } from './model.js';
import { createServer } from './server.js';

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  check(Number.isInteger(parsed) && parsed >= min, `--${name}`, value, `an integer ≥ ${min}`);
  return parsed;
}

/** A flag octet-serve does not take, or an argument that is not a flag, is an error rather than ignored. */
function checkFlags(rawArgs: readonly string[], declared: Record<string, unknown>): void {
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (!arg.startsWith('-')) throw new Error(`octet-serve: unexpected argument "${arg}"; allowed: flags only (--help lists them)`);
    const name = arg.replace(/^--?/, '').split('=')[0]!;
    if (name === 'help' || name === 'h') continue;
    const allowed = Object.keys(declared).map((flag) => `--${flag}`);
    if (!(name in declared)) throw new Error(`octet-serve: unknown flag --${name}; allowed: ${allowed.join(', ')}`);
    if (!arg.includes('=')) i++; // every flag takes a value
  }
}

const main = defineCommand({
  meta: { name: 'octet-serve', description: 'Serve an octet GPT checkpoint over an OpenAI-compatible HTTP API.' },
  args: {
    model: { type: 'string', description: 'checkpoint folder (model.safetensors, config.json, tokenizer.json)', required: true },
    backend: {
      type: 'string',
      description: `inference backend: ${SERVER_BACKENDS.join(' | ')} (auto: the first that starts of webgpu, cpu, tfjs; what it picked and why is logged)`,
      default: 'cpu',
    },
    'tfjs-engine': {
      type: 'string',
      description: `tfjs engine for --backend tfjs: ${TFJS_ENGINE_REQUESTS.join(' | ')} (auto: tensorflow if tfjs-node(-gpu) loads, else wasm, else cpu)`,
      default: 'auto',
    },
    port: { type: 'string', description: 'TCP port (0: any free port)', default: '8000' },
    host: { type: 'string', description: 'address to listen on', default: '127.0.0.1' },
    'model-id': { type: 'string', description: "the id clients pass as `model` (default: the folder's name)" },
    threads: { type: 'string', description: 'CPU worker threads / ONNX Runtime intra-op threads (default: one per core)' },
    'max-batch': { type: 'string', description: 'sequences decoded together per step', default: '32' },
    'max-queue': { type: 'string', description: 'requests waiting for a slot before 429', default: '64' },
    'body-limit': { type: 'string', description: 'largest request body in bytes before 413', default: String(1024 * 1024) },
  },
  async run({ args, rawArgs }) {
    checkFlags(rawArgs, main.args as Record<string, unknown>);
    check((SERVER_BACKENDS as readonly string[]).includes(args.backend), '--backend', args.backend, SERVER_BACKENDS.join(' | '));
    const tfjsEngine = args['tfjs-engine'] as TfjsEngineRequest;
    check(TFJS_ENGINE_REQUESTS.includes(tfjsEngine), '--tfjs-engine', tfjsEngine, TFJS_ENGINE_REQUESTS.join(' | '));
    const { app, ready } = createServer({
      modelDir: args.model,
      backend: args.backend as ServerBackend,
      modelId: args['model-id'],
      threads: integer('threads', args.threads, 1),
      tfjsEngine,
      maxBatch: integer('max-batch', args['max-batch'], 1),
      maxQueue: integer('max-queue', args['max-queue'], 0),
      bodyLimit: integer('body-limit', args['body-limit'], 1),
      logger: true,
    });
    await app.listen({ port: integer('port', args.port, 0)!, host: args.host });
    const model = await ready;
    app.log.info(`serving ${model.id} (${model.config.layers} layers, dim ${model.config.dim}) on the ${model.backend} backend`);
    if (model.backendDetail !== undefined) app.log.info(`${model.backend} backend: ${model.backendDetail}`);
    const shutdown = () => void app.close().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  },
});

void runMain(main);
