import { check, registerBackend } from '@octet/core';
import { CpuBackend } from './base.js';
import { CPU_KERNELS } from './register-all-kernels.js';

export { CpuBackend } from './base.js';
export { CPU_KERNELS } from './register-all-kernels.js';

export interface CpuBackendOptions {
  /** Worker threads for large matmuls (default: one per core; 1 runs everything on the calling thread, as in browsers). */
  threads?: number;
}

/** The TypeScript reference backend: every kernel, clear and obviously correct; the oracle for the others. */
export function createCpuBackend({ threads = defaultThreads() }: CpuBackendOptions = {}): CpuBackend {
  check(Number.isInteger(threads) && threads >= 1, 'threads', threads, 'an integer ≥ 1');
  return new CpuBackend(CPU_KERNELS, { threads });
}

function defaultThreads(): number {
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:os') as
    | typeof import('node:os')
    | undefined;
  return os?.availableParallelism() ?? 1;
}

/** Makes the CPU backend available by name ('cpu') to `getBackend` / `bestBackend`. */
export function registerCpuBackend(priority = 1): void {
  registerBackend('cpu', createCpuBackend, priority);
}
