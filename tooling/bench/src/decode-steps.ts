/**
 * Where a serving step's time goes on the CPU backend: GptDecoder.step on the 'small' model
 * (unitScaling, evaluation weights), per kernel, for the steps octet-serve runs: one token for 1,
 * 8 and 32 sequences (32-token prompts decoded 16 tokens first), a 32-token prompt alone, and seven
 * prompts with one sequence decoding (what eight clients whose requests end together send), seven
 * sequences decoding after an eighth left, and one prompt joining seven decoding sequences (what
 * they send once their requests drift apart). Each kernel call is timed around the engine's
 * `runKernel`; rows are µs per step, summed over calls.
 */
import { createCpuBackend } from '@octet/backend-cpu';
import { ENGINE, type KernelName, setBackend, type Tensor } from '@octet/core';
import { Gpt, GptDecoder, type GptKvCache, gptConfig } from '@octet/models';

const ROUNDS = Number(process.env.OCTET_BENCH_STEP_ROUNDS ?? 20);
const PROMPT = Array.from({ length: 32 }, (_, i) => 97 + (i % 26));

interface Tally {
  calls: number;
  ms: number;
}

export async function run(): Promise<void> {
  const backend = createCpuBackend();
  setBackend(backend);
  const model = new Gpt(gptConfig('small', { recipe: 'unitScaling' }));
  const decoder = new GptDecoder(model);
  const tallies = new Map<string, Tally>();
  let timing = false;
  // The wrapper sees every kernel, so it takes the contract's loosest shape.
  type AnyRunKernel = (name: KernelName, inputs: object, attrs?: Record<string, unknown>) => Tensor;
  const engine = ENGINE as unknown as { runKernel: AnyRunKernel };
  const runKernel = engine.runKernel.bind(ENGINE);
  engine.runKernel = (name, inputs, attrs = {}) => {
    if (!timing) return runKernel(name, inputs, attrs);
    const started = performance.now();
    const output = runKernel(name, inputs, attrs);
    const key = typeof attrs.op === 'string' ? `${name} ${attrs.op}` : name;
    const tally = tallies.get(key) ?? { calls: 0, ms: 0 };
    tally.calls++;
    tally.ms += performance.now() - started;
    tallies.set(key, tally);
    return output;
  };
  const prompts = async (count: number) =>
    (await decoder.step(Array.from({ length: count }, () => ({ tokens: PROMPT })))).map((r) => r.cache);
  const decode = async (caches: GptKvCache[]) => (await decoder.step(caches.map((cache) => ({ tokens: [98], cache })))).map((r) => r.cache);
  const release = (caches: GptKvCache[]) => {
    for (const cache of caches) decoder.release(cache);
  };
  /** Runs `setup` untimed, then `step` timed; returns the ms of each timed step. */
  const measure = async (setup: () => Promise<GptKvCache[]>, step: (caches: GptKvCache[]) => Promise<GptKvCache[]>) => {
    const steps: number[] = [];
    for (let round = 0; round < ROUNDS + 3; round++) {
      const caches = await setup();
      timing = round >= 3; // three untimed rounds first (compilation, packing, pools)
      const started = performance.now();
      const after = await step(caches);
      if (timing) steps.push(performance.now() - started);
      timing = false;
      release(after);
    }
    return steps;
  };
  const cases: [string, () => Promise<GptKvCache[]>, (caches: GptKvCache[]) => Promise<GptKvCache[]>][] = [];
  for (const batch of [1, 8, 32]) {
    cases.push([
      `decode, ${batch} sequence${batch > 1 ? 's' : ''}`,
      async () => {
        let caches = await prompts(batch);
        for (let i = 0; i < 16; i++) caches = await decode(caches);
        return caches;
      },
      decode,
    ]);
  }
  cases.push(['one 32-token prompt', async () => [], async () => prompts(1)]);
  cases.push([
    'seven prompts beside one decoding',
    async () => {
      let caches = await prompts(1);
      for (let i = 0; i < 16; i++) caches = await decode(caches);
      return caches;
    },
    async ([cache]) =>
      (await decoder.step([{ tokens: [98], cache: cache! }, ...Array.from({ length: 7 }, () => ({ tokens: PROMPT }))])).map((r) => r.cache),
  ]);
  cases.push([
    'seven decoding after an eighth left',
    async () => {
      let caches = await prompts(8);
      for (let i = 0; i < 16; i++) caches = await decode(caches);
      decoder.release(caches[3]!); // one request ended; no other is waiting
      return caches.filter((_, i) => i !== 3);
    },
    decode,
  ]);
  cases.push([
    'one prompt beside seven decoding',
    async () => {
      let caches = await prompts(8);
      for (let i = 0; i < 16; i++) caches = await decode(caches);
      decoder.release(caches[3]!); // one request ended; the next one's prompt takes its place
      return caches.filter((_, i) => i !== 3);
    },
    async (caches) => (await decoder.step([...caches.map((cache) => ({ tokens: [98], cache })), { tokens: PROMPT }])).map((r) => r.cache),
  ]);
  console.log(
    `GptDecoder.step on the 'small' model (unitScaling), CPU backend with ${backend.threads} threads; median of ${ROUNDS} steps per case`,
  );
  for (const [name, setup, step] of cases) {
    tallies.clear();
    const steps = (await measure(setup, step)).sort((a, b) => a - b);
    const median = steps[steps.length >> 1]!;
    const kernelMs = [...tallies.values()].reduce((sum, t) => sum + t.ms, 0) / ROUNDS;
    console.log(`\n${name}: ${median.toFixed(2)} ms per step (median), kernels ${kernelMs.toFixed(2)} ms of the mean step`);
    console.log('| kernel | calls per step | µs per step | µs per call |');
    console.log('|---|---:|---:|---:|');
    for (const [kernel, t] of [...tallies].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)) {
      console.log(
        `| ${kernel} | ${(t.calls / ROUNDS).toFixed(0)} | ${((1000 * t.ms) / ROUNDS).toFixed(0)} | ${((1000 * t.ms) / t.calls).toFixed(1)} |`,
      );
    }
  }
  engine.runKernel = runKernel;
  model.dispose();
  backend.wasm?.terminate();
}
