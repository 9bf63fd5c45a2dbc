import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startServer, tinyCheckpoint } from './fixtures.js';

let cpu: Running;
let tfjs: Running;
const MODEL = 'tiny-test';

beforeAll(async () => {
  const dir = await tinyCheckpoint();
  // Both in this process: the model steps take turns on octet's engine, each setting its backend.
  cpu = await startServer({ modelDir: dir, backend: 'cpu', threads: 1 });
  tfjs = await startServer({ modelDir: dir, backend: 'tfjs' });
  await Promise.all([cpu.ready, tfjs.ready]);
});
afterAll(async () => {
  await cpu?.close();
  await tfjs?.close();
});

describe('--backend tfjs', () => {
  it('says which tfjs engine runs and why', async () => {
    const model = await tfjs.ready;
    expect(model.backend).toBe('tfjs');
    // tfjs-node is not installed here, so 'auto' falls back to wasm.
    expect(model.backendDetail).toMatch(/^tfjs engine 'wasm': auto: .*@tensorflow\/tfjs-node-gpu does not load/);
  });

  it('gives the same greedy output as the cpu backend, including with requests decoded together', async () => {
    const viaCpu = new OpenAI({ baseURL: `${cpu.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const viaTfjs = new OpenAI({ baseURL: `${tfjs.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const prompts = ['the cat sat', 'on the log. ', 'and'];
    const request = (prompt: string) => ({ model: MODEL, prompt, max_tokens: 20, temperature: 0 }) as const;
    const expected = await Promise.all(prompts.map((p) => viaCpu.completions.create(request(p))));
    const actual = await Promise.all(prompts.map((p) => viaTfjs.completions.create(request(p))));
    for (const [i, a] of actual.entries()) {
      expect(a.choices[0]!.text.length).toBeGreaterThan(0);
      expect(a.choices[0]!.text).toBe(expected[i]!.choices[0]!.text);
    }
  });
});
