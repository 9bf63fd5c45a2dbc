import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServedModel, resolveModelDirectory, type ServedModel } from '../src/index.js';
import { postJson, type Running, readEvents, startServer, tinyCheckpoint } from './fixtures.js';

let dir: string;
let cpu: Running;
let onnx: Running;
let client: OpenAI;
const MODEL = 'tiny-test';

beforeAll(async () => {
  dir = await tinyCheckpoint();
  cpu = await startServer({ modelDir: dir, backend: 'cpu', threads: 1 });
  onnx = await startServer({ modelDir: dir, backend: 'onnx', threads: 1 });
  await Promise.all([cpu.ready, onnx.ready]);
  client = new OpenAI({ baseURL: `${cpu.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await cpu?.close();
  await onnx?.close();
});

describe('OpenAI client against octet-serve', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('completes a prompt with usage and finish_reason length', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'the cat', max_tokens: 5, temperature: 0 });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.usage).toEqual({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    expect(new TextEncoder().encode(completion.choices[0]!.text).length).toBeGreaterThan(0);
  });

  it('answers a chat with the assistant role', async () => {
    const chat = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'the dog' }],
      max_completion_tokens: 4,
      temperature: 0,
    });
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0]!.message.role).toBe('assistant');
    expect(typeof chat.choices[0]!.message.content).toBe('string');
    expect(chat.usage!.prompt_tokens).toBe('<|user|>\nthe dog\n<|assistant|>\n'.length);
    expect(chat.usage!.completion_tokens).toBeLessThanOrEqual(4);
  });

  it('streams a completion whose chunks join to the non-streamed text, with usage last', async () => {
    const request = { model: MODEL, prompt: 'the mat', max_tokens: 12, temperature: 0 } as const;
    const whole = await client.completions.create(request);
    const stream = await client.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: unknown = null;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        text += choice.text;
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]!.text);
    expect(finish).toBe('length');
    expect(usage).toEqual(whole.usage);
  });

  it('streams a chat completion', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'the cat' }],
      max_completion_tokens: 6,
      temperature: 0,
      stream: true,
    });
    const roles: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.role) roles.push(chunk.choices[0].delta.role);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(roles).toEqual(['assistant']);
    expect(['stop', 'length']).toContain(finish);
  });

  it('stops at a stop sequence, leaving it out, and repeats a sampled text for the same seed', async () => {
    const base = { model: MODEL, prompt: 'the ', max_tokens: 12 } as const;
    const greedy = (await client.completions.create({ ...base, temperature: 0 })).choices[0]!.text;
    const stopString = greedy.slice(3, 5);
    const stopped = await client.completions.create({ ...base, temperature: 0, stop: [stopString] });
    expect(stopped.choices[0]!.text).toBe(greedy.slice(0, greedy.indexOf(stopString)));
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    const sample = (seed: number) => {
      // top_k is vLLM's extension, outside the client's types; the client sends extra fields as given.
      const request: OpenAI.CompletionCreateParamsNonStreaming & { top_k: number } = {
        ...base,
        temperature: 1,
        top_p: 0.9,
        top_k: 20,
        seed,
      };
      return client.completions.create(request);
    };
    const [a, b] = await Promise.all([sample(7), sample(7)]);
    expect(a.choices[0]!.text).toBe(b.choices[0]!.text);
  });

  it('gives identical greedy output on the cpu and onnx backends', async () => {
    const viaOnnx = new OpenAI({ baseURL: `${onnx.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    for (const prompt of ['the cat sat', 'on the log. ', 'and']) {
      const request = { model: MODEL, prompt, max_tokens: 20, temperature: 0 } as const;
      const [a, b] = await Promise.all([client.completions.create(request), viaOnnx.completions.create(request)]);
      expect(b.choices[0]!.text).toBe(a.choices[0]!.text);
    }
  });
});

describe('bad requests get the OpenAI error JSON', () => {
  /** OpenAI's shape: {"error": {"message", "type", "param", "code"}}. */
  const expectOpenAiError = (json: { error?: Record<string, unknown> }) => {
    expect(Object.keys(json.error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(typeof json.error!.message).toBe('string');
    expect(typeof json.error!.type).toBe('string');
  };

  it('400 for malformed JSON', async () => {
    const { status, json } = await postJson(`${cpu.url}/v1/completions`, '{"model": "tiny-test", "prompt": ');
    expect(status).toBe(400);
    expectOpenAiError(json);
    expect(json.error?.message).toMatch(/not valid JSON/);
  });

  it('400 naming the parameter for wrong types and out-of-range values', async () => {
    for (const [body, param] of [
      [{ model: MODEL, prompt: 42 }, 'prompt'],
      [{ model: MODEL, prompt: 'x', temperature: 'hot' }, 'temperature'],
      [{ model: MODEL, prompt: 'x', max_tokens: 0 }, 'max_tokens'],
      [{ model: MODEL, prompt: 'x', max_tokens: 1.5 }, 'max_tokens'],
      [{ model: MODEL, prompt: 'x', max_tokens: 10_000 }, 'max_tokens'],
      [{ model: MODEL, prompt: 'x', top_p: 0 }, 'top_p'],
      [{ prompt: 'x' }, 'model'],
      [[1, 2, 3], null],
    ] as const) {
      const { status, json } = await postJson(`${cpu.url}/v1/completions`, body);
      expect(status, JSON.stringify(body)).toBe(400);
      expectOpenAiError(json);
      expect(json.error?.param).toBe(param);
    }
    const chat = await postJson(`${cpu.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'wizard', content: 'hi' }] });
    expect(chat.status).toBe(400);
    expect(chat.json.error?.param).toBe('messages.0.role');
  });

  it('404 for an unknown model and an unknown route', async () => {
    const { status, json } = await postJson(`${cpu.url}/v1/completions`, { model: 'gpt-4', prompt: 'x' });
    expect(status).toBe(404);
    expect(json.error).toMatchObject({ param: 'model', code: 'model_not_found', type: 'invalid_request_error' });
    const route = await postJson(`${cpu.url}/v1/engines`, {});
    expect(route.status).toBe(404);
    expectOpenAiError(route.json);
  });

  it('422 for a prompt longer than the context', async () => {
    const { status, json } = await postJson(`${cpu.url}/v1/completions`, { model: MODEL, prompt: 'x'.repeat(33) });
    expect(status).toBe(422);
    expect(json.error).toMatchObject({ param: 'prompt', code: 'context_length_exceeded' });
  });

  it('413 for a body over the limit', async () => {
    const { status, json } = await postJson(`${cpu.url}/v1/completions`, { model: MODEL, prompt: 'x'.repeat(2 * 1024 * 1024) });
    expect(status).toBe(413);
    expectOpenAiError(json);
  });

  it('keeps serving after all of the above', async () => {
    const response = await fetch(`${cpu.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('continuous batching under load', () => {
  it('serves 32 concurrent streaming clients, every stream ending with [DONE], decoding them in shared batches', async () => {
    const metricsBefore = await batchTotals(cpu.url);
    const responses = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        fetch(`${cpu.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: MODEL,
            prompt: `the ${'cat dog mat log'.split(' ')[i % 4]}`,
            max_tokens: 16,
            stream: true,
            seed: i,
          }),
          signal: AbortSignal.timeout(60_000),
        }),
      ),
    );
    const streams = await Promise.all(responses.map((r) => readEvents(r)));
    for (const [i, events] of streams.entries()) {
      expect(responses[i]!.status).toBe(200);
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
      expect(chunks.every((c) => !('error' in c))).toBe(true);
      expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
    }
    const metricsAfter = await batchTotals(cpu.url);
    const steps = metricsAfter.count - metricsBefore.count;
    const rows = metricsAfter.sum - metricsBefore.sum;
    expect(rows / steps).toBeGreaterThan(4); // sequences per decode step, on average
  });
});

async function batchTotals(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? 0);
  return { sum: value('octet_batch_size_sum'), count: value('octet_batch_size_count') };
}

describe('health, queueing and disconnects (a model whose steps wait for the test)', () => {
  /** The tiny model with a gate before every step, opened by the test. */
  async function gatedModel() {
    const model = await loadServedModel(dir, { backend: 'onnx', threads: 1 });
    let open: () => void = () => {};
    let gate = new Promise<void>((resolve) => (open = resolve));
    const gated: ServedModel = {
      ...model,
      async step(items) {
        await gate;
        return model.step(items);
      },
    };
    return {
      gated,
      release() {
        open();
        gate = Promise.resolve();
      },
    };
  }

  it('answers 503 "Loading model" on /health and the API until the model is ready, then 200', async () => {
    let finishLoading: (model: ServedModel) => void = () => {};
    const server = await startServer({
      modelDir: dir,
      backend: 'onnx',
      model: new Promise<ServedModel>((resolve) => (finishLoading = resolve)),
    });
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ error: { code: 503, message: 'Loading model' } });
    expect((await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'x' })).status).toBe(503);
    finishLoading(await loadServedModel(dir, { backend: 'onnx', threads: 1 }));
    await server.ready;
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await server.close();
  });

  it('answers 429 when the queue is full, and frees a slot at once when a streaming client disconnects', async () => {
    const { gated, release } = await gatedModel();
    const server = await startServer({ modelDir: dir, backend: 'onnx', model: Promise.resolve(gated), maxBatch: 1, maxQueue: 1 });
    await server.ready;
    const body = (stream: boolean) => ({ model: MODEL, prompt: 'the cat', max_tokens: 3, temperature: 0, stream });
    try {
      const controller = new AbortController();
      // The first takes the only slot and its first step waits at the gate; it streams, so we can drop it.
      const first = await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(true)),
        signal: controller.signal,
      });
      expect(first.status).toBe(200);
      await untilMetric(server.url, 'octet_active_sequences', 1);
      const second = postJson(`${server.url}/v1/completions`, body(false)); // waits in the queue
      await untilMetric(server.url, 'octet_queue_depth', 1);
      const third = await postJson(`${server.url}/v1/completions`, body(false));
      expect(third.status).toBe(429);
      expect(third.json.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      controller.abort(); // the first client goes away mid-stream: its slot is freed while its step is still in flight
      await untilMetric(server.url, 'octet_active_sequences', 0);
      release();
      const done = await second;
      expect(done.status).toBe(200);
      expect(done.json.usage?.completion_tokens).toBe(3);
    } finally {
      release();
      await server.close();
    }
  });
});

/** Polls /metrics until `name` reads `value` (at most 500 polls). */
async function untilMetric(url: string, name: string, value: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]) === value) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${name} never read ${value}`);
}

describe('--model', () => {
  it('takes a checkpoint folder, or an octet-train run directory (its newest checkpoint), and names what it needs otherwise', async () => {
    const { cp, mkdir, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const run = await mkdtemp(join(tmpdir(), 'octet-run-'));
    await mkdir(join(run, 'checkpoints', 'step-000009.tmp'), { recursive: true }); // an unfinished write
    await cp(dir, join(run, 'checkpoints', 'step-000010'), { recursive: true });
    await cp(dir, join(run, 'checkpoints', 'step-000002'), { recursive: true });
    expect(await resolveModelDirectory(dir)).toBe(dir);
    expect(await resolveModelDirectory(run)).toBe(join(run, 'checkpoints', 'step-000010'));
    const model = await loadServedModel(run, { backend: 'onnx', threads: 1 });
    expect(model.id).toBe(run.split('/').at(-1));
    await expect(resolveModelDirectory(join(run, 'checkpoints', 'step-000009.tmp'))).rejects.toThrow(
      /--model: got ".*step-000009\.tmp"; allowed: a checkpoint folder \(with manifest\.json\) or an octet-train run directory/,
    );
  });
});
