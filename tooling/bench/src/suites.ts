// The suites `pnpm bench` runs, in order. Each prints its own table.
export const suites: Record<string, () => Promise<void>> = {
  'cpu-kernels': () => import('./cpu-kernels.js').then((m) => m.run()),
  'decode-steps': () => import('./decode-steps.js').then((m) => m.run()),
  'train-cpu': () => import('./train-cpu.js').then((m) => m.run()),
  'train-tfjs': () => import('./train-tfjs.js').then((m) => m.run()),
  'fp8-codec': () => import('./fp8-codec.js').then((m) => m.run()),
  webgpu: () => import('./webgpu.js').then((m) => m.run()),
  optimizers: () => import('./optimizers.js').then((m) => m.run()),
  memory: () => import('./memory.js').then((m) => m.run()),
  serve: () => import('./serve.js').then((m) => m.run()),
};
