/**
 * The CPU backend's WASM SIMD kernels against peers in the same process: matmul (f32, and FP8 × FP8
 * → f32 with the codes decoded inside the kernel) against ONNX Runtime's MatMul (f32, native MLAS)
 * and TensorFlow.js's wasm backend; matrix × vector with FP8 weights against ORT's f32 MatMul of the
 * same shape; then GPT decode and training tokens/s, fast kernels against the reference kernels.
 *
 * The matmuls' B is a weight: ORT holds it as an initializer and octet keeps it packed after its
 * first use (both pack once); tfjs-wasm multiplies two plain tensors.
 *
 * Every contender returns its result to JavaScript. ORT idle threads do not spin, so they do not take
 * a core from the runs that follow; each measurement is warmed up, then contenders alternate and the
 * median is shown.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname } from 'node:path';
import { type CpuBackend, createCpuBackend } from '@octet/backend-cpu';
import {
  type Backend,
  fp8,
  type KernelName,
  MatMul,
  Quantize,
  ScaledMatMul,
  Softmax,
  SoftmaxCrossEntropy,
  setBackend,
  type TensorInfo,
  Unary,
} from '@octet/core';
import { Gpt, GptDecoder, gptConfig } from '@octet/models';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import onnx from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { brownTrainingTokens, octetTrainTokensPerSecond } from './octet-train-throughput.js';

const WARMUP_RUNS = 2;
const TIMED_RUNS = Number(process.env.OCTET_BENCH_KERNEL_RUNS ?? 5);
const proto = onnx.onnx;
const ONNX_FLOAT = 1;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Median seconds per run of each contender, runs alternating between them; `settleMs` of idle
 * before each run (see the matmul rows).
 */
async function race(
  contenders: Record<string, () => unknown>,
  { runs = TIMED_RUNS, warmup = WARMUP_RUNS, settleMs = 0 } = {},
): Promise<Record<string, number>> {
  const seconds: Record<string, number[]> = {};
  for (const [name, work] of Object.entries(contenders)) {
    for (let i = 0; i < warmup; i++) await work();
    seconds[name] = [];
  }
  for (let run = 0; run < runs; run++) {
    for (const [name, work] of Object.entries(contenders)) {
      if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
      const start = performance.now();
      await work();
      seconds[name]!.push((performance.now() - start) / 1000);
    }
  }
  return Object.fromEntries(Object.entries(seconds).map(([name, times]) => [name, median(times)]));
}

function randomF32(n: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = (state >>> 0) / 2147483648 - 1;
  }
  return values;
}

function tensorType(dims: number[]): onnx.onnx.ITypeProto {
  return proto.TypeProto.create({
    tensorType: proto.TypeProto.Tensor.create({
      elemType: ONNX_FLOAT,
      shape: proto.TensorShapeProto.create({ dim: dims.map((dimValue) => ({ dimValue })) }),
    }),
  });
}

/** ORT session of y = a @ b (f32); `b` is an initializer (weights held by ORT) when given. */
async function ortMatMul(M: number, K: number, N: number, weights?: Float32Array): Promise<ort.InferenceSession> {
  const initializer = weights
    ? [
        proto.TensorProto.create({
          name: 'b',
          dataType: ONNX_FLOAT,
          dims: [K, N],
          rawData: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
        }),
      ]
    : [];
  const graph = proto.GraphProto.create({
    name: 'matmul',
    node: [proto.NodeProto.create({ opType: 'MatMul', input: ['a', 'b'], output: ['y'] })],
    initializer,
    input: [
      proto.ValueInfoProto.create({ name: 'a', type: tensorType([M, K]) }),
      ...(weights ? [] : [proto.ValueInfoProto.create({ name: 'b', type: tensorType([K, N]) })]),
    ],
    output: [proto.ValueInfoProto.create({ name: 'y', type: tensorType([M, N]) })],
  });
  const model = proto.ModelProto.create({
    irVersion: 9,
    opsetImport: [proto.OperatorSetIdProto.create({ domain: '', version: 21 })],
    graph,
  });
  return ort.InferenceSession.create(proto.ModelProto.encode(model).finish(), {
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
}

function kernel(backend: Backend, name: KernelName, inputs: Record<string, TensorInfo>, attrs: object): Float32Array {
  const out = backend.kernels.get(name)!({ inputs, attrs, backend } as never);
  return (backend as CpuBackend).readSync(out) as Float32Array;
}

async function useTfjsWasm(): Promise<void> {
  const require = createRequire(import.meta.url);
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  tf.enableProdMode();
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs backend wasm failed to initialise');
  await tf.ready();
}

const gflops = (M: number, N: number, K: number, seconds: number) => (2 * M * N * K) / seconds / 1e9;

/** The matmul rows; `plain` is the same backend on the kernels built without relaxed SIMD (browsers without it run those). */
async function matmulRows(fast: CpuBackend, plain: CpuBackend): Promise<string[]> {
  const rows: string[] = [];
  for (const [M, K, N] of [
    [1024, 1024, 1024],
    [512, 768, 3072],
  ] as const) {
    const av = randomF32(M * K, 1);
    const bv = randomF32(K * N, 2);
    const bt = randomF32(N * K, 3); // (N, K): a linear layer's weight
    const a = fast.write(av, [M, K], 'float32');
    const b = fast.write(bv, [K, N], 'float32');
    const aq = fast.write(fp8.encode(av, 'e4m3fn'), [M, K], 'uint8');
    const bq = fast.write(fp8.encode(bt, 'e4m3fn'), [N, K], 'uint8');
    const one = fast.write(Float32Array.of(1), [], 'float32');
    const fp8Inputs = { a: aq, b: bq, aScale: one, bScale: one };
    const fp8Attrs = { aFormat: 'e4m3fn', bFormat: 'e4m3fn', transposeA: false, transposeB: true, alpha: 1 };
    // B is a weight on every side that can keep one: an ORT initializer (MLAS packs it once), and
    // octet's weight storage (packed on its second use); tfjs-wasm has no such notion.
    const session = await ortMatMul(M, K, N, bv);
    const feeds = { a: new ort.Tensor('float32', av, [M, K]) };
    const ta = tf.tensor2d(av, [M, K]);
    const tb = tf.tensor2d(bv, [K, N]);
    const times = await race(
      {
        f32: () => kernel(fast, MatMul, { a, b }, { transposeA: false, transposeB: false }),
        fp8: () => kernel(fast, ScaledMatMul, fp8Inputs, fp8Attrs),
        plainF32: () => kernel(plain, MatMul, { a, b }, { transposeA: false, transposeB: false }),
        plainFp8: () => kernel(plain, ScaledMatMul, fp8Inputs, fp8Attrs),
        ort: async () => (await session.run(feeds)).y!.data,
        tfjs: () => tf.tidy(() => tf.matMul(ta, tb)).dataSync(),
      },
      { settleMs: 20 },
    ); // without the pause, whoever ran after tfjs-wasm read up to 2× slower
    await session.release();
    ta.dispose();
    tb.dispose();
    const [ortRate, tfjsRate] = [gflops(M, N, K, times.ort!), gflops(M, N, K, times.tfjs!)];
    for (const [name, seconds] of [
      ['octet f32', times.f32!],
      ['octet e4m3 × e4m3 → f32', times.fp8!],
      ['octet f32, plain SIMD', times.plainF32!],
      ['octet e4m3 × e4m3 → f32, plain SIMD', times.plainFp8!],
    ] as const) {
      const rate = gflops(M, N, K, seconds);
      rows.push(
        `| matmul ${M}×${K}×${N} | ${name} | ${rate.toFixed(1)} GFLOP/s | ${ortRate.toFixed(1)} | ${(rate / ortRate).toFixed(2)}× | ${tfjsRate.toFixed(1)} | ${(rate / tfjsRate).toFixed(2)}× |`,
      );
    }
  }
  return rows;
}

async function matvecRows(fast: CpuBackend): Promise<string[]> {
  const [K, N] = [4096, 4096];
  const x = randomF32(K, 4);
  const w = randomF32(K * N, 5); // (K, N) for ORT; octet holds the same numbers as (N, K), as a linear layer does
  const wt = new Float32Array(N * K);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) wt[n * K + k] = w[k * N + n]!;
  const wq = fast.write(fp8.encode(wt, 'e4m3fn'), [N, K], 'uint8');
  const wf = fast.write(wt, [N, K], 'float32');
  const xq = fast.write(fp8.encode(x, 'e4m3fn'), [1, K], 'uint8');
  const xf = fast.write(x, [1, K], 'float32');
  const one = fast.write(Float32Array.of(1), [], 'float32');
  const session = await ortMatMul(1, K, N, w);
  const feeds = { a: new ort.Tensor('float32', x, [1, K]) };
  const times = await race(
    {
      fp8: () =>
        kernel(
          fast,
          ScaledMatMul,
          { a: xq, b: wq, aScale: one, bScale: one },
          { aFormat: 'e4m3fn', bFormat: 'e4m3fn', transposeA: false, transposeB: true, alpha: 1 },
        ),
      f32: () => kernel(fast, MatMul, { a: xf, b: wf }, { transposeA: false, transposeB: true }),
      ort: async () => (await session.run(feeds)).y!.data,
    },
    { runs: TIMED_RUNS * 8, warmup: WARMUP_RUNS + 2 },
  );
  await session.release();
  const ortRate = gflops(1, N, K, times.ort!);
  return [
    ['octet e4m3 weights', times.fp8!],
    ['octet f32 weights', times.f32!],
  ].map(([name, seconds]) => {
    const rate = gflops(1, N, K, seconds as number);
    return `| matvec 1×${K}·${K}×${N} | ${name} | ${rate.toFixed(1)} GFLOP/s (${((seconds as number) * 1e3).toFixed(2)} ms) | ${ortRate.toFixed(1)} | ${(rate / ortRate).toFixed(2)}× | | |`;
  });
}

/**
 * Kernels of the small model's decode steps and training, fast against reference: µs per call,
 * each the median of runs of 200 calls. Weights are reused from call to call, as in evaluation
 * (so the fast GEMM reads them packed).
 */
async function stepKernelRows(fast: CpuBackend, reference: CpuBackend): Promise<string[]> {
  const CALLS = 200;
  const rows: string[] = [];
  const timeOne = async (name: string, call: (backend: CpuBackend) => () => void) => {
    const [onFast, onReference] = [call(fast), call(reference)];
    const times = await race({
      fast: () => {
        for (let i = 0; i < CALLS; i++) onFast();
      },
      reference: () => {
        for (let i = 0; i < CALLS; i++) onReference();
      },
    });
    const [f, r] = [(times.fast! / CALLS) * 1e6, (times.reference! / CALLS) * 1e6];
    rows.push(`| ${name} | ${f.toFixed(1)} | ${r.toFixed(1)} | ${(r / f).toFixed(2)}× |`);
  };
  const run = (backend: CpuBackend, name: KernelName, inputs: Record<string, TensorInfo>, attrs: object) => () => {
    backend.disposeData((backend.kernels.get(name)!({ inputs, attrs, backend } as never) as TensorInfo).dataId);
  };
  for (const [M, K, N] of [
    [1, 128, 512],
    [8, 128, 512],
  ] as const) {
    const x = fp8.encode(randomF32(M * K, 6), 'e4m3fn');
    const w = fp8.encode(randomF32(N * K, 7), 'e4m3fn');
    await timeOne(`e4m3 matmul ${M}×${K}·(${N}×${K})ᵀ, weight reused`, (backend) => {
      const inputs = {
        a: backend.write(x, [M, K], 'uint8'),
        b: backend.write(w, [N, K], 'uint8'),
        aScale: backend.write(Float32Array.of(1), [], 'float32'),
        bScale: backend.write(Float32Array.of(1), [], 'float32'),
      };
      return run(backend, ScaledMatMul, inputs, { aFormat: 'e4m3fn', bFormat: 'e4m3fn', transposeA: false, transposeB: true, alpha: 1 });
    });
  }
  const values = randomF32(16384, 8).map((v) => 3 * v);
  await timeOne('gelu, 16,384 values', (backend) =>
    run(backend, Unary, { x: backend.write(values, [values.length], 'float32') }, { op: 'gelu' }),
  );
  await timeOne('quantize to e4m3, 16,384 values', (backend) => {
    const inputs = { x: backend.write(values, [values.length], 'float32'), scale: backend.write(Float32Array.of(0.3), [], 'float32') };
    return run(backend, Quantize, inputs, { format: 'e4m3fn', saturate: true });
  });
  // Attention over a 32-token prompt (4 heads), and the training loss of a batch (8 × 128 rows, vocab 256).
  const scores = randomF32(4 * 32 * 32, 9).map((v) => 4 * v);
  await timeOne('causal softmax, 4 × 32 × 32', (backend) =>
    run(backend, Softmax, { x: backend.write(scores, [1, 4, 32, 32], 'float32') }, { causal: true }),
  );
  const logits = randomF32(1024 * 256, 10).map((v) => 4 * v);
  const targets = Int32Array.from({ length: 1024 }, (_, i) => (i * 37) % 256);
  await timeOne('cross-entropy, 1024 rows × 256', (backend) => {
    const inputs = { logits: backend.write(logits, [1024, 256], 'float32'), targets: backend.write(targets, [1024], 'int32') };
    return run(backend, SoftmaxCrossEntropy, inputs, {});
  });
  return rows;
}

/**
 * Tokens/s decoding `steps` tokens one at a time after a short prompt, for `batch` sequences
 * stepping together (GptDecoder.step, as octet-serve batches them).
 */
async function decodeTokensPerSecond(backend: CpuBackend, steps: number, batch = 1): Promise<number> {
  setBackend(backend);
  const model = new Gpt(gptConfig('small'));
  const decoder = new GptDecoder(model);
  const prompts = Array.from({ length: batch }, (_, b) => [72, 101, 108, 108, 111 + b]);
  let caches = (await decoder.step(prompts.map((tokens) => ({ tokens })))).map((r) => r.cache);
  const step = async (token: number) => {
    caches = (await decoder.step(caches.map((cache, b) => ({ tokens: [(token + b) % 256], cache })))).map((r) => r.cache);
  };
  for (let i = 0; i < 4; i++) await step(32 + i);
  const start = performance.now();
  for (let i = 0; i < steps; i++) await step(40 + (i % 50));
  const seconds = (performance.now() - start) / 1000;
  for (const cache of caches) decoder.release(cache);
  model.dispose();
  return (steps * batch) / seconds;
}

export async function run(): Promise<void> {
  await useTfjsWasm();
  const fast = createCpuBackend();
  const reference = createCpuBackend({ kernels: 'reference' });
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const tfjsThreads = getThreadsCount();
  console.log(
    `${os.cpus().length} × ${cpu}, Node ${process.versions.node}; octet ${fast.threads} threads, ${fast.wasm?.relaxedSimd ? 'relaxed SIMD' : 'SIMD'} kernels; onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}; ` +
      `tfjs-wasm ${tf.version.tfjs} (${tfjsThreads} thread${tfjsThreads === 1 ? '' : 's'}); median of ${TIMED_RUNS} runs after ${WARMUP_RUNS} warm-up runs`,
  );
  console.log('| work | octet | octet | ORT (GFLOP/s) | octet / ORT | tfjs-wasm (GFLOP/s) | octet / tfjs-wasm |');
  console.log('|---|---|---|---|---|---|---|');
  const plain = createCpuBackend({ relaxedSimd: false });
  for (const row of await matmulRows(fast, plain)) console.log(row);
  plain.wasm?.terminate();
  for (const row of await matvecRows(fast)) console.log(row);
  console.log();
  console.log('Kernels of decoding and training (µs per call)');
  console.log('| work | fast kernels | reference kernels | fast / reference |');
  console.log('|---|---|---|---|');
  for (const row of await stepKernelRows(fast, reference)) console.log(row);

  const decodeTokens = Number(process.env.OCTET_BENCH_DECODE_TOKENS ?? 96);
  const decodeFast = await decodeTokensPerSecond(fast, decodeTokens);
  const decodeReference = await decodeTokensPerSecond(reference, decodeTokens);
  const decodeBatchFast = await decodeTokensPerSecond(fast, decodeTokens, 8);
  const decodeBatchReference = await decodeTokensPerSecond(reference, decodeTokens, 8);
  const ids = brownTrainingTokens();
  const trainSteps = Number(process.env.OCTET_BENCH_TRAIN_STEPS ?? 3);
  const training = { recipe: 'unitScaling', steps: trainSteps, warmupSteps: 1, batch: 8 };
  const trainFast = await octetTrainTokensPerSecond(fast, ids, training);
  const trainReference = await octetTrainTokensPerSecond(reference, ids, training);
  console.log();
  console.log(
    `GPT 'small' (default recipe): decode ${decodeTokens} steps at batch 1 and 8; train ${trainSteps} steps of batch 8 × 128 after one warm-up step`,
  );
  console.log('| work | fast kernels (tokens/s) | reference kernels (tokens/s) | fast / reference |');
  console.log('|---|---|---|---|');
  console.log(
    `| decode, batch 1 | ${decodeFast.toFixed(1)} | ${decodeReference.toFixed(1)} | ${(decodeFast / decodeReference).toFixed(2)}× |`,
  );
  console.log(
    `| decode, batch 8 | ${decodeBatchFast.toFixed(1)} | ${decodeBatchReference.toFixed(1)} | ${(decodeBatchFast / decodeBatchReference).toFixed(2)}× |`,
  );
  console.log(`| train, batch 8 | ${trainFast.toFixed(0)} | ${trainReference.toFixed(0)} | ${(trainFast / trainReference).toFixed(2)}× |`);
  console.log('(training against tfjs-wasm: the train-cpu suite)');
  fast.wasm?.terminate();
}
