/**
 * octet-serve decode throughput and latency: the 'small' preset (freshly initialised under
 * unitScaling, saved as a checkpoint) served in-process on 127.0.0.1, with 1, 8 and 32 concurrent
 * clients, on the cpu and onnx backends. Each client sends completion requests one after another
 * (32-token prompt, max_tokens 32, temperature 1 with a seed and no stop sequence, so every
 * request generates exactly 32 tokens).
 *
 * - tokens/s: generated tokens of all clients ÷ wall time of the level.
 * - p50 / p99: latency of whole requests (queueing + prefill + 32 decode steps) in ms.
 * - in model steps: mean time of the batched server's steps (its octet_decode_step_seconds
 *   histogram: one batched forward, prefills included) and their share of the level's wall time;
 *   the rest is HTTP, sampling and the clients, which share the process.
 * - batched ÷ serial: the same clients against a server with --max-batch 1 (one sequence per
 *   decode step, the rest queued), measured in the same run on the same loaded model. Each is
 *   measured twice, alternating (serial, batched, serial, batched), after an unreported warm-up
 *   of both at 8 clients, and the faster run of each kept, so neither side gains from running
 *   later (warmer) or loses to a burst of other load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
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

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(model: ServedModel, clients: number, maxBatch: number): Promise<Level> {
  const server = createServer({ modelDir: '', backend: model.backend, model: Promise.resolve(model), maxBatch, maxQueue: 1024 });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  await server.ready;
  const url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}/v1/completions`;
  const request = async (seed: number): Promise<{ ms: number; tokens: number }> => {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'small', prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 1, seed }),
    });
    const body = (await response.json()) as { usage: { completion_tokens: number } };
    if (response.status !== 200) throw new Error(`request failed: ${response.status} ${JSON.stringify(body)}`);
    return { ms: performance.now() - started, tokens: body.usage.completion_tokens };
  };
  await request(0); // warm-up
  server.metrics.decodeStepSeconds.reset();
  const started = performance.now();
  const results = (
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        const mine: { ms: number; tokens: number }[] = [];
        for (let r = 0; r < REQUESTS_PER_CLIENT; r++) mine.push(await request(client * 1000 + r));
        return mine;
      }),
    )
  ).flat();
  const seconds = (performance.now() - started) / 1000;
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
  console.log('| backend | clients | tokens/s (batched) | p50 ms | p99 ms | in model steps | tokens/s (max-batch 1) | batched ÷ serial |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  try {
    for (const backend of ['cpu', 'onnx'] as const) {
      const served = await loadServedModel(dir, { backend, id: 'small' });
      // Warm-up (JIT, kernel memory, batch shapes), not reported: throughput keeps rising over the first few hundred tokens.
      for (const maxBatch of [1, 32]) await measure(served, 8, maxBatch);
      for (const clients of CONCURRENCY) {
        // Alternating, each after its own warm-up request; the faster of two runs each.
        const runs: { serial: Level; batched: Level }[] = [];
        for (let round = 0; round < 2; round++)
          runs.push({ serial: await measure(served, clients, 1), batched: await measure(served, clients, 32) });
        const fastest = (levels: Level[]) => levels.reduce((best, level) => (level.tokensPerSecond > best.tokensPerSecond ? level : best));
        const serial = fastest(runs.map((r) => r.serial));
        const batched = fastest(runs.map((r) => r.batched));
        console.log(
          `| ${backend} | ${clients} | ${batched.tokensPerSecond.toFixed(0)} | ${batched.p50.toFixed(0)} | ${batched.p99.toFixed(0)} | ` +
            `${batched.stepMs.toFixed(1)} ms, ${(100 * batched.inSteps).toFixed(0)}% | ` +
            `${serial.tokensPerSecond.toFixed(0)} | ${(batched.tokensPerSecond / serial.tokensPerSecond).toFixed(2)}× |`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
