/**
 * Matmul throughput of the WebGPU backend (f32 MatMul, and FP8 e4m3fn × e4m3fn ScaledMatMul)
 * against the CPU backend, same shapes, same process. Each time includes the dispatch and the
 * async readback of the result (what a caller waits for). Without a GPU, WebGPU runs on
 * SwiftShader: set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json. Each measurement
 * is warmed up once; the table shows the median of the timed runs.
 */
import { createCpuBackend } from '@octet/backend-cpu';
// @octet/backend-webgpu is not (yet) a dependency of this package; its source is imported by path.
import { createWebGpuBackend } from '@octet/backend-webgpu';
import { type Backend, fp8, op, Random, setBackend, type Tensor, tidy } from '@octet/core';

const SIZES = [64, 128, 256];
const TIMED_RUNS = Number(process.env.OCTET_BENCH_WEBGPU_RUNS ?? 5);

function randomValues(length: number, seed: number): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length }, () => random.normal());
}

/** Median seconds of `fn` (dispatch + readback) on `backend`. */
async function time(backend: Backend, fn: () => Tensor): Promise<number> {
  setBackend(backend);
  const once = async () => {
    const start = performance.now();
    const t = tidy(fn);
    await t.data();
    const seconds = (performance.now() - start) / 1000;
    t.dispose();
    return seconds;
  };
  await once();
  const runs: number[] = [];
  for (let r = 0; r < TIMED_RUNS; r++) runs.push(await once());
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
}

export async function run(): Promise<void> {
  let webgpu: Backend;
  try {
    webgpu = await createWebGpuBackend();
  } catch (error) {
    console.log(`skipped: ${(error as Error).message}`);
    return;
  }
  const cpu = createCpuBackend();
  console.log(`webgpu adapter: ${(webgpu as { adapterDescription?: string }).adapterDescription}; cpu threads: ${cpu.threads}`);
  console.log('| n (n×n×n) | kernel | webgpu GFLOP/s | cpu GFLOP/s | webgpu / cpu |');
  console.log('|---|---|---|---|---|');
  for (const n of SIZES) {
    const a = randomValues(n * n, 1);
    const b = randomValues(n * n, 2);
    const qa = fp8.encode(a, 'e4m3fn');
    const qb = fp8.encode(b, 'e4m3fn');
    const cases: [string, () => Tensor][] = [
      ['MatMul f32', () => op.matMul(op.tensor(a, [n, n]), op.tensor(b, [n, n]))],
      [
        'ScaledMatMul e4m3fn',
        () =>
          op.scaledMatMul(op.tensor(qa, [n, n]), op.tensor(qb, [n, n]), op.scalar(1), op.scalar(1), {
            aFormat: 'e4m3fn',
            bFormat: 'e4m3fn',
          }),
      ],
    ];
    for (const [name, fn] of cases) {
      const flops = 2 * n * n * n;
      const gpu = flops / (await time(webgpu, fn)) / 1e9;
      const host = flops / (await time(cpu, fn)) / 1e9;
      console.log(`| ${n} | ${name} | ${gpu.toFixed(3)} | ${host.toFixed(3)} | ${(gpu / host).toFixed(3)} |`);
    }
  }
  (webgpu as { destroy?: () => void }).destroy?.();
}
