/**
 * octet-serve's HTTP layer: OpenAI-compatible routes on fastify. The server listens at once and
 * loads the model in the background (/health answers 503 until it is ready); every request goes
 * through the scheduler, which decodes all active requests together.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { TfjsEngineRequest } from '@octet/backend-tfjs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { z } from 'zod';
import { ApiError, LOADING_ERROR } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { loadServedModel, renderChat, type ServedModel, type ServerBackend } from './model.js';
import { type FinishReason, QueueFullError, Scheduler } from './scheduler.js';
import { ChatCompletionRequest, CompletionRequest } from './schemas.js';

export interface ServerOptions {
  /** Checkpoint folder (model.safetensors, config.json, tokenizer.json). */
  modelDir: string;
  backend: ServerBackend;
  /** A model already loaded (or loading) to serve instead of loading `modelDir`; for embedding and tests. */
  model?: Promise<ServedModel>;
  /** The id clients pass as `model` (default: the folder's name). */
  modelId?: string;
  threads?: number;
  /** The tfjs engine for backend 'tfjs' (default 'auto'). */
  tfjsEngine?: TfjsEngineRequest;
  /** Sequences decoded together per step (default 32). */
  maxBatch?: number;
  /** Requests waiting for a slot before 429 (default 64). */
  maxQueue?: number;
  /** Largest request body in bytes before 413 (default 1 MiB). */
  bodyLimit?: number;
  logger?: boolean;
}

export interface OctetServer {
  app: FastifyInstance;
  metrics: Metrics;
  /** Resolves when the model is loaded (rejects if loading fails). */
  ready: Promise<ServedModel>;
}

export function createServer(options: ServerOptions): OctetServer {
  const { maxBatch = 32, maxQueue = 64, bodyLimit = 1024 * 1024 } = options;
  const app = Fastify({ bodyLimit, logger: options.logger ?? false });
  const metrics = createMetrics();
  let model: ServedModel | null = null;
  let scheduler: Scheduler | null = null;
  let loadError: Error | null = null;
  const loading =
    options.model ??
    loadServedModel(options.modelDir, {
      backend: options.backend,
      id: options.modelId,
      threads: options.threads,
      tfjsEngine: options.tfjsEngine,
    });
  const ready = loading.then(
    (loaded) => {
      model = loaded;
      scheduler = new Scheduler(loaded, { maxBatch, maxQueue }, metrics);
      return loaded;
    },
    (error: Error) => {
      loadError = error;
      app.log.error(error, 'failed to load the model');
      throw error;
    },
  );
  ready.catch(() => {}); // reported through /health and the log

  const loaded = (): { model: ServedModel; scheduler: Scheduler } => {
    if (loadError) throw new ApiError(503, `The model failed to load: ${loadError.message}`, null, 503, 'unavailable_error');
    if (!model || !scheduler) throw LOADING_ERROR;
    return { model, scheduler };
  };

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | ApiError, _request, reply) => {
    if (error instanceof ApiError) return reply.code(error.status).send(error.toJSON());
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) app.log.error(error);
    const message =
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
        ? `The request body is not valid JSON: ${error.message}`
        : status === 413
          ? `The request body is larger than the limit of ${bodyLimit} bytes`
          : status === 500
            ? 'Internal server error'
            : error.message;
    return reply.code(status).send(new ApiError(status, message, null, error.code ?? null).toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new ApiError(404, `Unknown route: ${request.method} ${request.url}`, null, 'not_found').toJSON());
  });

  app.get('/health', async (_request, reply) => {
    if (loadError) return reply.code(503).send(new ApiError(503, `The model failed to load: ${loadError.message}`, null, 503).toJSON());
    if (!model) return reply.code(503).send(LOADING_ERROR.toJSON());
    return { status: 'ok' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/v1/models', async () => {
    const { model } = loaded();
    return { object: 'list', data: [{ id: model.id, object: 'model', created: 0, owned_by: 'octet' }] };
  });

  app.post('/v1/completions', async (request, reply) => {
    const { model, scheduler } = loaded();
    const body = parse(CompletionRequest, request.body);
    checkModel(model, body.model);
    const promptTokens = typeof body.prompt === 'string' ? model.tokenizer.encode(body.prompt) : body.prompt;
    for (const [i, id] of promptTokens.entries()) {
      if (id >= model.config.vocabSize)
        throw new ApiError(400, `prompt[${i}]: token id ${id} is not below the vocabulary size ${model.config.vocabSize}`, 'prompt');
    }
    return generate(reply, { model, scheduler, metrics }, body, promptTokens, 'completion', [], 16);
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const { model, scheduler } = loaded();
    const body = parse(ChatCompletionRequest, request.body);
    checkModel(model, body.model);
    const messages = body.messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
    }));
    const promptTokens = model.tokenizer.encode(renderChat(model.chatTemplate, messages));
    const requestBody = { ...body, max_tokens: body.max_completion_tokens ?? body.max_tokens };
    return generate(
      reply,
      { model, scheduler, metrics },
      requestBody,
      promptTokens,
      'chat',
      model.chatTemplate.stop,
      model.config.contextLength,
    );
  });

  return { app, metrics, ready };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.length > 0 ? issue.path.join('.') : null;
  throw new ApiError(400, `${param ?? 'body'}: ${issue.message}`, param, issue.code);
}

function checkModel(model: ServedModel, requested: string): void {
  if (requested !== model.id) {
    throw new ApiError(404, `The model '${requested}' does not exist; this server serves '${model.id}'`, 'model', 'model_not_found');
  }
}

type GenerationBody = Pick<
  CompletionRequest,
  'max_tokens' | 'temperature' | 'top_p' | 'top_k' | 'stop' | 'seed' | 'stream' | 'stream_options' | 'model'
>;

async function generate(
  reply: FastifyReply,
  { model, scheduler, metrics }: { model: ServedModel; scheduler: Scheduler; metrics: Metrics },
  body: GenerationBody,
  promptTokens: number[],
  kind: 'completion' | 'chat',
  templateStops: string[],
  defaultMaxTokens: number,
) {
  const { contextLength } = model.config;
  const promptParam = kind === 'chat' ? 'messages' : 'prompt';
  if (promptTokens.length === 0) throw new ApiError(400, `${promptParam}: encodes to no tokens; give at least one character`, promptParam);
  if (promptTokens.length > contextLength) {
    throw new ApiError(
      422,
      `${promptParam}: ${promptTokens.length} tokens is longer than the model's context of ${contextLength} tokens`,
      promptParam,
      'context_length_exceeded',
    );
  }
  const maxParam = kind === 'chat' ? 'max_completion_tokens' : 'max_tokens';
  if (body.max_tokens != null && body.max_tokens > contextLength) {
    throw new ApiError(400, `${maxParam}: ${body.max_tokens} is more than the model's context of ${contextLength} tokens`, maxParam);
  }
  const stop = [...(typeof body.stop === 'string' ? [body.stop] : (body.stop ?? [])), ...templateStops];
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = (completionTokens: number) => ({
    prompt_tokens: promptTokens.length,
    completion_tokens: completionTokens,
    total_tokens: promptTokens.length + completionTokens,
  });
  const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
  const choice = (text: string | null, finishReason: FinishReason | null, stream: boolean) =>
    kind === 'chat'
      ? stream
        ? { index: 0, delta: text === null ? {} : { content: text }, logprobs: null, finish_reason: finishReason }
        : { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finishReason }
      : { index: 0, text: text ?? '', logprobs: null, finish_reason: finishReason };

  const request = {
    promptTokens,
    maxTokens: body.max_tokens ?? defaultMaxTokens,
    sampling: { temperature: body.temperature ?? 1, topP: body.top_p ?? 1, topK: body.top_k ?? 0 },
    seed: body.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop,
  };
  const submit = (callbacks: Pick<Parameters<Scheduler['submit']>[0], 'onText' | 'onDone' | 'onError'>) => {
    try {
      const handle = scheduler.submit({ ...request, ...callbacks });
      metrics.tokens.inc({ kind: 'prompt' }, promptTokens.length);
      return handle;
    } catch (error) {
      if (error instanceof QueueFullError) throw new ApiError(429, error.message, null, 'rate_limit_exceeded');
      throw error;
    }
  };

  if (!body.stream) {
    let text = '';
    const result = await new Promise<{ finishReason: FinishReason; completionTokens: number }>((resolve, reject) => {
      const handle = submit({ onText: (delta) => (text += delta), onDone: resolve, onError: reject });
      onClientGone(reply.raw, () => handle.cancel());
    });
    return {
      id,
      object,
      created,
      model: model.id,
      choices: [choice(text, result.finishReason, false)],
      usage: usage(result.completionTokens),
    };
  }

  // Streaming: server-sent events, one chunk per piece of text, then the finish reason, usage when asked, and [DONE].
  const chunkObject = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const includeUsage = body.stream_options?.include_usage === true;
  const raw = reply.raw;
  const send = (data: unknown) => raw.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  const chunk = (choices: unknown[], extra: object = {}) => ({ id, object: chunkObject, created, model: model.id, choices, ...extra });
  const handle = submit({
    onText: (delta) => send(chunk([choice(delta, null, true)])),
    onDone: ({ finishReason, completionTokens }) => {
      send(chunk([choice(null, finishReason, true)], includeUsage ? { usage: null } : {}));
      if (includeUsage) send(chunk([], { usage: usage(completionTokens) }));
      send('[DONE]');
      raw.end();
    },
    onError: (error) => {
      send(new ApiError(500, `Generation failed: ${error.message}`, null, 'generation_failed').toJSON());
      send('[DONE]');
      raw.end();
    },
  });
  reply.hijack();
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  raw.flushHeaders(); // the client sees the stream open before the first token is ready
  if (kind === 'chat') send(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  onClientGone(raw, () => handle.cancel());
  return reply;
}

/** Calls `gone` when the connection closes before the response has been sent in full. */
function onClientGone(response: ServerResponse, gone: () => void): void {
  response.on('close', () => {
    if (!response.writableFinished) gone();
  });
}
