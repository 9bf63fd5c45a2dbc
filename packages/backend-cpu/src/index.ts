import { check, registerBackend } from '@octet/core';
import { CpuBackend } from './base.js';
import type { WasmModule } from './fast/wasm-api.js';
import { loadKernelsModule } from './fast/wasm-module.js';
import { CPU_FAST_KERNELS, CPU_KERNELS } from './register-all-kernels.js';

export { CpuBackend } from './base.js';
export type { WasmModule } from './fast/wasm-api.js';
export { compileKernels, kernelsWasmUrl, relaxedKernelsWasmUrl, relaxedSimdSupported } from './fast/wasm-module.js';
export { CPU_FAST_KERNELS, CPU_KERNELS } from './register-all-kernels.js';

export type CpuKernels = 'fast' | 'reference';

const DEFAULT_MIN_WASM_WORK = 1 << 12;

export interface CpuBackendOptions {
  /** Threads for large matmuls (default: one per core; 1 runs everything on the calling thread, as in browsers). */
  threads?: number;
  /**
   * 'fast' (default): WASM SIMD matmuls (FP8 decoded inside the kernels) beside the reference
   * kernels; 'reference': the TypeScript reference kernels alone, the oracle for every backend.
   */
  kernels?: CpuKernels;
  /**
   * The compiled kernels (dist/kernels.wasm at `kernelsWasmUrl`, or the relaxed SIMD build at
   * `relaxedKernelsWasmUrl`). Node reads them itself; browsers pass the module they compiled (e.g.
   * `await compileKernels((url) => fetch(url).then((r) => r.arrayBuffer()))`). Without it the fast
   * kernels fall back to the reference ones.
   */
  wasmModule?: WasmModule;
  /**
   * Where Node reads the kernels itself: true (default) takes the relaxed SIMD build wherever the
   * engine runs it (fused multiply-adds in the matmuls: faster, and rounded once per product-sum
   * instead of twice); false takes the plain SIMD build. In Node 20 relaxed SIMD sits behind a V8
   * flag, which `relaxedSimdSupported` sets. `backend.wasm.relaxedSimd` says which build runs.
   */
  relaxedSimd?: boolean;
  /**
   * Matmuls with fewer multiply-adds than this run on the reference kernels (default 2^12: below
   * it, copying into WASM memory and the call cost more than the arithmetic). 0 sends every
   * matmul to the WASM kernels.
   */
  minWasmWork?: number;
}

/** The CPU backend: WASM SIMD matmuls on every core by default, the TypeScript reference kernels otherwise. */
export function createCpuBackend({
  threads = defaultThreads(),
  kernels = 'fast',
  wasmModule,
  relaxedSimd = true,
  minWasmWork = DEFAULT_MIN_WASM_WORK,
}: CpuBackendOptions = {}): CpuBackend {
  check(Number.isInteger(threads) && threads >= 1, 'threads', threads, 'an integer ≥ 1');
  check(kernels === 'fast' || kernels === 'reference', 'kernels', kernels, "'fast' or 'reference'");
  check(Number.isInteger(minWasmWork) && minWasmWork >= 0, 'minWasmWork', minWasmWork, 'an integer ≥ 0');
  check(typeof relaxedSimd === 'boolean', 'relaxedSimd', relaxedSimd, 'true or false');
  if (kernels === 'reference') return new CpuBackend(CPU_KERNELS, { threads });
  return new CpuBackend(CPU_FAST_KERNELS, { threads, wasmModule: wasmModule ?? loadKernelsModule(relaxedSimd), minWasmWork });
}

/** The TypeScript reference backend on the calling thread alone: the oracle the other backends are checked against. */
export function createReferenceBackend(): CpuBackend {
  return createCpuBackend({ threads: 1, kernels: 'reference' });
}

function defaultThreads(): number {
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:os') as
    | typeof import('node:os')
    | undefined;
  return os?.availableParallelism() ?? 1;
}

/** Makes the CPU backend available by name ('cpu') to `getBackend` / `bestBackend`. */
export function registerCpuBackend(priority = 1, options: CpuBackendOptions = {}): void {
  registerBackend('cpu', () => createCpuBackend(options), priority);
}
