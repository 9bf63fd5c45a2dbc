// The same checkpoint served by the octet backends other than cpu gives cpu's greedy output.
import { createWebGpuBackend, NO_ADAPTER_HELP } from '@octet/backend-webgpu';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerBackend } from '../src/index.js';
import { type Running, startServer, tinyCheckpoint } from './fixtures.js';

const MODEL = 'tiny-test';
/** Whether WebGPU starts here (null: it does not) and what emulates its device, if anything (e.g. SwiftShader). */
const webgpu = await createWebGpuBackend().then(
  (backend) => {
    backend.destroy();
    return { emulated: backend.emulated };
  },
  () => null,
);
if (!webgpu && process.env.CI !== 'true') console.warn(`skipping the WebGPU serving test: ${NO_ADAPTER_HELP}`);

let dir: string;
let cpu: Running;
beforeAll(async () => {
  dir = await tinyCheckpoint();
  cpu = await startServer({ modelDir: dir, backend: 'cpu', threads: 1 });
  await cpu.ready;
});
afterAll(() => cpu?.close());

/** Greedy completions of a few prompts sent at once (so they are decoded together). */
async function greedy(server: Running): Promise<string[]> {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const prompts = ['the cat sat', 'on the log. ', 'and'];
  const answers = await Promise.all(
    prompts.map((prompt) => client.completions.create({ model: MODEL, prompt, max_tokens: 12, temperature: 0 })),
  );
  return answers.map((a) => a.choices[0]!.text);
}

const cases: { backend: ServerBackend; run: boolean; detail: RegExp }[] = [
  // tfjs-node is not installed here, so 'auto' falls back to wasm.
  { backend: 'tfjs', run: true, detail: /^tfjs engine 'wasm': auto: .*@tensorflow\/tfjs-node-gpu does not load/ },
  { backend: 'webgpu', run: webgpu !== null || process.env.CI === 'true', detail: /./ },
];

for (const { backend, run, detail } of cases) {
  describe.runIf(run)(`--backend ${backend}`, () => {
    let server: Running;
    beforeAll(async () => {
      // In one process with the cpu server: model steps take turns on octet's engine, each setting its backend.
      server = await startServer({ modelDir: dir, backend });
      await server.ready;
    });
    afterAll(() => server?.close());

    it('says what runs it', async () => {
      const model = await server.ready;
      expect(model.backend).toBe(backend);
      expect(model.backendDetail).toMatch(detail);
    });

    it('gives the same greedy output as the cpu backend, with requests decoded together', async () => {
      const [expected, actual] = [await greedy(cpu), await greedy(server)];
      for (const [i, text] of actual.entries()) {
        expect(text.length).toBeGreaterThan(0);
        expect(text).toBe(expected[i]);
      }
    });
  });
}

describe('--backend auto', () => {
  it('serves on the first backend that starts on a real device (webgpu, else cpu) and says what it picked and why', async () => {
    const server = await startServer({ modelDir: dir, backend: 'auto', threads: 1 });
    try {
      const model = await server.ready;
      expect(model.backend).toBe(webgpu !== null && webgpu.emulated === undefined ? 'webgpu' : 'cpu');
      expect(model.backendDetail).toMatch(
        new RegExp(`^--backend auto picked ${model.backend}.*: the first that starts on a real device in the order webgpu > cpu > tfjs`),
      );
      if (webgpu === null) expect(model.backendDetail).toMatch(/skipped webgpu \(.*no WebGPU adapter/);
      else if (webgpu.emulated !== undefined)
        expect(model.backendDetail).toContain(`skipped webgpu (runs on an emulated device (${webgpu.emulated}): slower than cpu)`);
      expect(await greedy(server)).toEqual(await greedy(cpu));
    } finally {
      await server.close();
    }
  });
});
