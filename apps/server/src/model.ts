/**
 * The served model behind one interface, whichever backend runs it: prefill a prompt, then decode
 * steps for many sequences at once, each with its own KV cache.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createCpuBackend } from '@octet/backend-cpu';
import { createOnnxGenerator } from '@octet/backend-onnx';
import { check, setBackend } from '@octet/core';
import { ByteTokenizer, type GptConfig, GptDecoder, loadGptCheckpoint, loadTokenizer, type Tokenizer } from '@octet/models';

export const SERVER_BACKENDS = ['cpu', 'onnx'] as const;
export type ServerBackend = (typeof SERVER_BACKENDS)[number];

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
  backend: ServerBackend;
  config: GptConfig;
  tokenizer: Tokenizer;
  chatTemplate: ChatTemplate;
  /** Runs a whole prompt; returns the logits after its last token. */
  prefill(tokens: readonly number[]): Promise<StepResult>;
  /** One token for each of several sequences, in one batched forward pass. Consumes the caches given. */
  decode(steps: readonly { token: number; cache: KvCache }[]): Promise<StepResult[]>;
  release(cache: KvCache): void;
}

export interface LoadModelOptions {
  backend: ServerBackend;
  id?: string;
  /** CPU backend worker threads / ONNX Runtime intra-op threads. */
  threads?: number;
}

export async function loadServedModel(directory: string, { backend, id, threads }: LoadModelOptions): Promise<ServedModel> {
  check((SERVER_BACKENDS as readonly string[]).includes(backend), '--backend', backend, SERVER_BACKENDS.join(' | '));
  const dir = resolve(directory);
  const configJson = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as GptConfig & { chat_template?: Partial<ChatTemplate> };
  const tokenizerText = await readFile(join(dir, 'tokenizer.json'), 'utf8').catch(() => null);
  const tokenizer = tokenizerText ? loadTokenizer(tokenizerText) : new ByteTokenizer();
  const chatTemplate = { ...DEFAULT_CHAT_TEMPLATE, ...(configJson.chat_template ?? {}) };
  const common = { id: id ?? basename(dir), backend, tokenizer, chatTemplate };
  const V = configJson.vocabSize;
  if (backend === 'onnx') {
    const generator = await createOnnxGenerator(dir, threads === undefined ? {} : { threads });
    return {
      ...common,
      config: generator.config,
      async prefill(tokens) {
        const { logits, cache } = await generator.prefill(tokens);
        return { logits: logits.slice(logits.length - V), cache };
      },
      decode: (steps) => generator.decode(steps as never),
      release: () => {},
    };
  }
  setBackend(createCpuBackend(threads === undefined ? {} : { threads }));
  const { model } = await loadGptCheckpoint(dir, { weights: 'serving' });
  const decoder = new GptDecoder(model);
  return {
    ...common,
    config: model.config,
    async prefill(tokens) {
      const { logits, cache } = await decoder.prefill(tokens);
      return { logits: logits.slice(logits.length - V), cache };
    },
    decode: (steps) => decoder.decode(steps as never),
    release: (cache) => decoder.release(cache as never),
  };
}

/** Applies the chat template to messages. */
export function renderChat(template: ChatTemplate, messages: readonly { role: string; content: string }[]): string {
  const body = messages.map((m) => template.message.replaceAll('{role}', m.role).replaceAll('{content}', m.content)).join('');
  return body + template.generation_prompt;
}
