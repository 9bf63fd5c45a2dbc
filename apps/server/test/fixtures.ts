import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpuBackend } from '@octet/backend-cpu';
import { op, setBackend, tidy, valueAndGrads } from '@octet/core';
import { ByteTokenizer, Gpt, gptConfig, saveGptCheckpoint } from '@octet/models';
import { createServer, type OctetServer, type ServerOptions } from '../src/index.js';

const TEXT = new TextEncoder().encode(
  'the cat sat on the mat. the dog sat on the log. the cat and the dog sat on the mat and the log. '.repeat(4),
);

/**
 * A tiny unitScaling checkpoint after a few SGD steps on English text, so greedy output is text
 * rather than noise. Returns its folder (named `tiny-test`, the model id the server gives it).
 */
export async function tinyCheckpoint(): Promise<string> {
  setBackend(createCpuBackend({ threads: 1 }));
  const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling' }));
  const B = 4;
  const T = 24;
  const rows = (from: number) => Int32Array.from({ length: B * T }, (_, i) => TEXT[Math.floor(i / T) * 13 + (i % T) + from]!);
  const inputs = op.tensor(rows(0), [B, T]);
  const targets = op.tensor(rows(1), [B, T]);
  for (let step = 0; step < 30; step++) {
    tidy(() => {
      const { grads } = valueAndGrads(() => model.loss(inputs, targets), model.parameters());
      model.parameters().forEach((p, i) => {
        p.assign(op.sub(p, op.mulScalar(grads[i]!, 0.1)));
      });
    });
  }
  inputs.dispose();
  targets.dispose();
  const dir = join(mkdtempSync(join(tmpdir(), 'octet-serve-')), 'tiny-test');
  await saveGptCheckpoint(dir, model, { tokenizer: new ByteTokenizer().toJSON() });
  model.dispose();
  return dir;
}

export interface Running extends OctetServer {
  url: string;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 with an ephemeral port. */
export async function startServer(options: ServerOptions): Promise<Running> {
  const server = createServer(options);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as AddressInfo;
  return { ...server, url: `http://127.0.0.1:${port}`, close: () => server.app.close() };
}

/** A JSON response as the tests read it: OpenAI's error shape, or a completion with usage. */
export interface JsonBody {
  error?: { message: string; type: string; param: string | null; code: string | number | null };
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  [key: string]: unknown;
}

export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; json: JsonBody }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  return { status: response.status, json: (await response.json()) as JsonBody };
}

/** Reads a whole SSE response; returns the `data:` payloads in order. */
export async function readEvents(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}
