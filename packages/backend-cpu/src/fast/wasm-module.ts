/**
 * Finds the compiled kernels (dist/kernels.wasm, built by the package build from wasm/*.ts). In
 * Node it is read next to the compiled sources, or, when the TypeScript sources run directly, from
 * the package's dist/; elsewhere (browsers) the caller passes the module it fetched
 * (`createCpuBackend({ wasmModule })`, e.g. from `kernelsWasmUrl`).
 */
import { type WasmModule, wasmApi } from './wasm-api.js';

/** Where the compiled kernels sit, relative to this file once built. */
export const kernelsWasmUrl: URL = new URL('../kernels.wasm', import.meta.url);

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where it cannot be read synchronously (no node:fs, or not built). */
export function loadKernelsModule(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = process?.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
  const url = process?.getBuiltinModule?.('node:url') as typeof import('node:url') | undefined;
  if (!fs || !url || kernelsWasmUrl.protocol !== 'file:') return compiled;
  // Built layout (dist/fast/ → dist/kernels.wasm), then the sources' (src/fast/ → dist/kernels.wasm).
  for (const candidate of [kernelsWasmUrl, new URL('../../dist/kernels.wasm', import.meta.url)]) {
    const path = url.fileURLToPath(candidate);
    if (fs.existsSync(path)) {
      compiled = new wasmApi.Module(fs.readFileSync(path));
      break;
    }
  }
  return compiled;
}
