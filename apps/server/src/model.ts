/**
 * The served model behind one interface, whichever backend runs it: one step advances many
 * sequences at once (new prompts beside sequences decoding a token), each with its own KV cache.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createCpuBackend } from '@octet/backend-cpu';
import { createOnnxGenerator, type OnnxKvCache } from '@octet/backend-onnx';
import { TFJS_ENGINE_REQUESTS, type TfjsEngineRequest } from '@octet/backend-tfjs';
import { type Backend, check, setBackend } from '@octet/core';
import {
  ByteTokenizer,
  type GptConfig,
  GptDecoder,
  type GptKvCache,
  loadGptCheckpoint,
  loadTokenizer,
  type Tokenizer,
} from '@octet/models';
import { createBackend, SERVER_BACKENDS, type ServerBackend } from './backends.js';

export { SERVER_BACKENDS, type ServerBackend } from './backends.js';

/** A sequence's cache, opaque to the server. */
export type KvCache = unknown;

export interface StepResult {
  /** Next-token logits (vocab). */
  logits: Float32Array;
  cache: KvCache;
}

/** How chat messages become a prompt: config.json's `chat_template`, or DEFAULT_CHAT_TEMPLATE. */
export interface ChatTemplate {
  /** One message; `{role}` and `{content}` are replaced. */
  message: string;
  /** Appended after the messages: the assistant's turn begins here. */
  generation_prompt: string;
  /** Stop sequences added to every chat request (the start of the next turn). */
  stop: string[];
}

export const DEFAULT_CHAT_TEMPLATE: ChatTemplate = {
  message: '<|{role}|>\n{content}\n',
  generation_prompt: '<|assistant|>\n',
  stop: ['<|'],
};

export interface ServedModel {
  /** The id clients pass as `model` (the checkpoint folder's name unless given). */
  id: string;
  /** The backend that runs it (what `auto` picked). */
  backend: Exclude<ServerBackend, 'auto'>;
  /** What runs the backend, where there is a choice (e.g. the tfjs engine and why it was picked; what `auto` picked and why). */
  backendDetail?: string;
  config: GptConfig;
  tokenizer: Tokenizer;
  chatTemplate: ChatTemplate;
  /**
   * Runs each sequence's new tokens (a whole prompt for a new sequence, whose cache is null, or
   * the last sampled token) in one batched forward; returns the logits after each one's last token.
   * Consumes the caches given.
   */
  step(items: readonly { tokens: readonly number[]; cache: KvCache | null }[]): Promise<StepResult[]>;
  release(cache: KvCache): void;
}

export interface LoadModelOptions {
  backend: ServerBackend;
  id?: string;
  /** CPU backend worker threads / ONNX Runtime intra-op threads. */
  threads?: number;
  /** The tfjs engine for backend 'tfjs' (default 'auto': tensorflow if tfjs-node(-gpu) loads, else wasm, else cpu). */
  tfjsEngine?: TfjsEngineRequest;
}

/**
 * octet's engine runs kernels on one active backend per process: models on different backends in
 * one process (several servers, as in tests) take turns, each turn setting its backend first.
 * (Freeing needs no turn: storage is freed by the backend that holds it.)
 */
let engineTurn: Promise<unknown> = Promise.resolve();
function onBackend<T>(backend: Backend, fn: () => T | Promise<T>): Promise<T> {
  const turn = engineTurn.then(() => {
    setBackend(backend);
    return fn();
  });
  engineTurn = turn.catch(() => {});
  return turn;
}

/** A checkpoint folder as given, or the newest checkpoint of an octet-train run directory. */
export async function resolveModelDirectory(directory: string): Promise<string> {
  const dir = resolve(directory);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  const checkpoints = join(dir, 'checkpoints');
  // Unfinished checkpoint writes have other names than step-N.
  const steps = existsSync(checkpoints)
    ? (await readdir(checkpoints)).filter((name) => /^step-\d+$/.test(name)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    : [];
  check(
    steps.length > 0,
    '--model',
    directory,
    'a checkpoint folder (with manifest.json) or an octet-train run directory (with checkpoints/step-N)',
  );
  return join(checkpoints, steps.at(-1)!);
}

export async function loadServedModel(directory: string, options: LoadModelOptions): Promise<ServedModel> {
  const { backend, id, threads, tfjsEngine } = options;
  check((SERVER_BACKENDS as readonly string[]).includes(backend), '--backend', backend, SERVER_BACKENDS.join(' | '));
  if (tfjsEngine !== undefined)
    check(TFJS_ENGINE_REQUESTS.includes(tfjsEngine), '--tfjs-engine', tfjsEngine, TFJS_ENGINE_REQUESTS.join(' | '));
  const dir = await resolveModelDirectory(directory);
  const configJson = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as GptConfig & { chat_template?: Partial<ChatTemplate> };
  const tokenizerText = await readFile(join(dir, 'tokenizer.json'), 'utf8').catch(() => null);
  const tokenizer = tokenizerText ? loadTokenizer(tokenizerText) : new ByteTokenizer();
  const chatTemplate = { ...DEFAULT_CHAT_TEMPLATE, ...(configJson.chat_template ?? {}) };
  const common = { id: id ?? basename(resolve(directory)), tokenizer, chatTemplate };
  if (backend === 'onnx') {
    // The graph is written by the Gpt's modules, read from the checkpoint on a CPU tensor backend.
    const cpu = createCpuBackend({ threads: 1 });
    const generator = await onBackend(cpu, async () => {
      const { model } = await loadGptCheckpoint(dir, { weights: 'serving' });
      try {
        return await createOnnxGenerator(model, threads === undefined ? {} : { threads });
      } finally {
        model.dispose();
      }
    });
    return {
      ...common,
      backend,
      config: generator.config,
      step: (items) =>
        generator.step(items.map(({ tokens, cache }) => (cache === null ? { tokens } : { tokens, cache: cache as OnnxKvCache }))),
      release: () => {},
    };
  }
  // The same Gpt decode path on every octet backend.
  const { backend: engine, name, detail } = await createBackend(backend, { threads, tfjsEngine });
  const { model } = await onBackend(engine, () => loadGptCheckpoint(dir, { weights: 'serving' }));
  const decoder = new GptDecoder(model);
  return {
    ...common,
    backend: name,
    ...(detail === undefined ? {} : { backendDetail: detail }),
    config: model.config,
    step: (items) =>
      onBackend(engine, () =>
        decoder.step(items.map(({ tokens, cache }) => (cache === null ? { tokens } : { tokens, cache: cache as GptKvCache }))),
      ),
    release: (cache) => decoder.release(cache as GptKvCache),
  };
}

/** Applies the chat template to messages. */
export function renderChat(template: ChatTemplate, messages: readonly { role: string; content: string }[]): string {
  const body = messages.map((m) => template.message.replaceAll('{role}', m.role).replaceAll('{content}', m.content)).join('');
  return body + template.generation_prompt;
}
