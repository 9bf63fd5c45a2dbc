/**
 * octet-serve decode throughput and latency: the 'small' preset (freshly initialised under
 * unitScaling, saved as a checkpoint) served in-process on 127.0.0.1, with 1, 8 and 32 concurrent
 * clients, on the cpu and onnx backends. The clients run on a thread of their own
 * (serve-clients.mjs), as remote clients would, so the server's event loop serves alone. Each
 * client sends completion requests one after another (32-token prompt, max_tokens 32, temperature
 * 1 with a seed and no stop sequence, so every request generates exactly 32 tokens).
 *
 * - tokens/s: generated tokens of all clients ÷ wall time of the level.
 * - p50 / p99: latency of whole requests (queueing + prefill + 32 decode steps) in ms.
 * - in model steps: mean time of the batched server's steps (its octet_decode_step_seconds
 *   histogram: one batched forward, prefills included) and their share of the level's wall time;
 *   the rest is HTTP and sampling.
 * - batched ÷ serial: the same clients against a server with --max-batch 1 (one sequence per
 *   decode step, the rest queued), measured in the same run on the same loaded model. Each is
 *   measured twice, alternating (serial, batched, serial, batched), after an unreported warm-up
 *   of both at 8 clients, and the faster run of each kept, so neither side gains from running
 *   later (warmer) or loses to a burst of other load.
 * - model alone: the ceiling batching can reach, without HTTP or sampling: every prompt prefilled
 *   in one step and all decoded in lockstep, against one sequence at a time through the same
 *   ServedModel.step (best of three alternating rounds); its tokens/s, batched / serial.
 *
 * OCTET_BENCH_SERVE_BACKENDS (default 'cpu,onnx') picks the backends, OCTET_BENCH_SERVE_REQUESTS
 * (default 3) the requests per client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createCpuBackend } from '@octet/backend-cpu';
import { setBackend } from '@octet/core';
import { ByteTokenizer, Gpt, gptConfig, saveGptCheckpoint } from '@octet/models';
import { createServer, loadServedModel, type ServedModel } from 'octet-serve';

const CONCURRENCY = [1, 8, 32];
const MAX_TOKENS = 32;
const PROMPT = 'the quick brown fox jumps over t'; // 32 bytes
const REQUESTS_PER_CLIENT = Number(process.env.OCTET_BENCH_SERVE_REQUESTS ?? 3);

interface Level {
  tokensPerSecond: number;
  p50: number;
  p99: number;
  /** Mean ms of a model step, and the steps' share of the wall time. */
  stepMs: number;
  inSteps: number;
}

/** What the clients' thread (serve-clients.mjs) runs, and what it answers. */
interface ClientLoad {
  url: string;
  clients: number;
  requests: number;
  body: Record<string, unknown>;
}
interface ClientResult {
  ms: number;
  tokens: number;
}
type ClientAnswer = { results: ClientResult[]; seconds: number } | { error: string };

/** The clients' thread: runs one load at a time. */
class Clients {
  private readonly worker = new Worker(new URL('./serve-clients.mjs', import.meta.url));

  run(load: ClientLoad): Promise<{ results: ClientResult[]; seconds: number }> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', (answer: ClientAnswer) => ('error' in answer ? reject(new Error(answer.error)) : resolve(answer)));
      this.worker.postMessage(load);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(load: Clients, model: ServedModel, clients: number, maxBatch: number): Promise<Level> {
  const server = createServer({ modelDir: '', backend: model.backend, model: Promise.resolve(model), maxBatch, maxQueue: 1024 });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  await server.ready;
  const url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}/v1/completions`;
  const body = { model: 'small', prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 1 };
  await load.run({ url, clients: 1, requests: 1, body }); // warm-up
  server.metrics.decodeStepSeconds.reset();
  const { results, seconds } = await load.run({ url, clients, requests: REQUESTS_PER_CLIENT, body });
  const steps = (await server.metrics.decodeStepSeconds.get()).values;
  const stepTotal = steps.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const stepCount = steps.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  await server.app.close();
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    tokensPerSecond: results.reduce((n, r) => n + r.tokens, 0) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    stepMs: stepCount > 0 ? (1000 * stepTotal) / stepCount : 0,
    inSteps: stepTotal / seconds,
  };
}

/**
 * The ceiling the server's batching can reach: the model alone (no HTTP, no sampling), every
 * prompt prefilled in one step and then all decoded in lockstep, against one sequence at a time;
 * generated tokens per second of each.
 */
async function modelAlone(model: ServedModel, clients: number): Promise<{ batched: number; serial: number }> {
  const prompt = model.tokenizer.encode(PROMPT);
  const generate = async (count: number) => {
    let results = await model.step(Array.from({ length: count }, () => ({ tokens: prompt, cache: null })));
    for (let t = 1; t < MAX_TOKENS; t++) results = await model.step(results.map(({ cache }) => ({ tokens: [prompt[0]!], cache })));
    for (const { cache } of results) model.release(cache);
  };
  const rate = async (work: () => Promise<void>) => {
    const started = performance.now();
    await work();
    return (clients * MAX_TOKENS) / ((performance.now() - started) / 1000);
  };
  const serial = async () => {
    for (let c = 0; c < clients; c++) await generate(1);
  };
  let best = { batched: 0, serial: 0 };
  for (let round = 0; round < 3; round++) {
    const [one, all] = [await rate(serial), await rate(() => generate(clients))];
    best = { batched: Math.max(best.batched, all), serial: Math.max(best.serial, one) };
  }
  return best;
}

export async function run(): Promise<void> {
  const root = mkdtempSync(join(os.tmpdir(), 'octet-bench-serve-'));
  const dir = join(root, 'small');
  setBackend(createCpuBackend());
  const model = new Gpt(gptConfig('small', { recipe: 'unitScaling' }));
  await saveGptCheckpoint(dir, model, { tokenizer: new ByteTokenizer().toJSON() });
  model.dispose();
  console.log(
    `\nserve: 'small' preset (freshly initialised, unitScaling), ${MAX_TOKENS} tokens per request, ` +
      `${REQUESTS_PER_CLIENT} requests per client, ${os.availableParallelism()} cores\n`,
  );
  console.log(
    '| backend | clients | tokens/s (batched) | p50 ms | p99 ms | in model steps | tokens/s (max-batch 1) | batched ÷ serial | model alone: ÷ (tokens/s) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const load = new Clients();
  try {
    for (const backend of (process.env.OCTET_BENCH_SERVE_BACKENDS ?? 'cpu,onnx').split(',') as ('cpu' | 'onnx')[]) {
      const served = await loadServedModel(dir, { backend, id: 'small' });
      // Warm-up (JIT, kernel memory, batch shapes), not reported: throughput keeps rising over the first few hundred tokens.
      for (const maxBatch of [1, 32]) await measure(load, served, 8, maxBatch);
      for (const clients of CONCURRENCY) {
        // Alternating, each after its own warm-up request; the faster of two runs each.
        const runs: { serial: Level; batched: Level }[] = [];
        for (let round = 0; round < 2; round++)
          runs.push({ serial: await measure(load, served, clients, 1), batched: await measure(load, served, clients, 32) });
        const fastest = (levels: Level[]) => levels.reduce((best, level) => (level.tokensPerSecond > best.tokensPerSecond ? level : best));
        const serial = fastest(runs.map((r) => r.serial));
        const batched = fastest(runs.map((r) => r.batched));
        const alone = await modelAlone(served, clients);
        console.log(
          `| ${backend} | ${clients} | ${batched.tokensPerSecond.toFixed(0)} | ${batched.p50.toFixed(0)} | ${batched.p99.toFixed(0)} | ` +
            `${batched.stepMs.toFixed(1)} ms, ${(100 * batched.inSteps).toFixed(0)}% | ` +
            `${serial.tokensPerSecond.toFixed(0)} | ${(batched.tokensPerSecond / serial.tokensPerSecond).toFixed(2)}× | ` +
            `${(alone.batched / alone.serial).toFixed(2)}× (${alone.batched.toFixed(0)}/${alone.serial.toFixed(0)}) |`,
        );
      }
    }
  } finally {
    await load.close();
    rmSync(root, { recursive: true, force: true });
  }
}
