/**
 * The backends the trainer can run on: the one place to add another (its name in `BACKENDS`, its
 * construction in `createTrainBackend`).
 */
import { type CpuBackend, createCpuBackend } from '@octet/backend-cpu';
import { createTfjsBackend, type TfjsBackend } from '@octet/backend-tfjs';
import { registerWebGpuBackend } from '@octet/backend-webgpu';
import { type Backend, getBackend } from '@octet/core';

export const BACKENDS = ['cpu', 'webgpu', 'tfjs'] as const;
export type BackendName = (typeof BACKENDS)[number];

registerWebGpuBackend();

const cpuBackends = new Map<number | undefined, CpuBackend>();
let tfjsBackend: Promise<TfjsBackend> | null = null;

/** The named backend; CPU backends are shared per thread count (their workers live on), tfjs is one per process (so is its engine). */
export async function createTrainBackend(name: BackendName, threads?: number): Promise<Backend> {
  if (name === 'webgpu') return getBackend('webgpu');
  if (name === 'tfjs') {
    tfjsBackend ??= createTfjsBackend().then((backend) => {
      // Which tfjs engine runs, and why: the CUDA build only when tfjs-node-gpu is installed and loads.
      process.stderr.write(`tfjs engine '${backend.engine}': ${backend.engineReason}\n`);
      return backend;
    });
    return tfjsBackend;
  }
  let backend = cpuBackends.get(threads);
  if (!backend) {
    backend = createCpuBackend(threads ? { threads } : {});
    cpuBackends.set(threads, backend);
  }
  return backend;
}
