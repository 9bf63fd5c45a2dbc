/**
 * Finds the compiled kernels, built twice by the package build from wasm/*.ts: dist/kernels.wasm
 * (SIMD) and dist/kernels-relaxed.wasm (relaxed SIMD as well: fused multiply-adds in the matmuls).
 * In Node they are read next to the compiled sources, or, when the TypeScript sources run
 * directly, from the package's dist/; elsewhere (browsers) the caller passes the module it fetched
 * (`createCpuBackend({ wasmModule })`, e.g. from `kernelsWasmUrl` or `relaxedKernelsWasmUrl`).
 */
import { type WasmModule, wasmApi } from './wasm-api.js';

/** Where the compiled kernels sit, relative to this file once built. */
export const kernelsWasmUrl: URL = new URL('../kernels.wasm', import.meta.url);
/** The same kernels built with relaxed SIMD (Chrome 114+, Node 22+; Node 20 behind a V8 flag). */
export const relaxedKernelsWasmUrl: URL = new URL('../kernels-relaxed.wasm', import.meta.url);

// The smallest module that uses relaxed SIMD: one function returning f32x4.relaxed_madd of its three v128 parameters.
// biome-ignore format: the bytes read best by section
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) → v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // local.get 0 1 2, f32x4.relaxed_madd
]);

function compiles(bytes: Uint8Array): boolean {
  try {
    new wasmApi.Module(bytes);
    return true;
  } catch {
    return false;
  }
}

type NodeProcess = { getBuiltinModule?: (id: string) => unknown };

let relaxedSupport: boolean | undefined;

/**
 * Whether this engine compiles relaxed SIMD. Node 20's V8 (11.3) implements it behind
 * `--experimental-wasm-relaxed-simd` (on by default from V8 11.4, Node 22): this sets that flag
 * when the probe fails in Node, then probes again.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupport !== undefined) return relaxedSupport;
  relaxedSupport = compiles(RELAXED_SIMD_PROBE);
  const v8 = (globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.('node:v8') as typeof import('node:v8') | undefined;
  if (!relaxedSupport && v8) {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxedSupport = compiles(RELAXED_SIMD_PROBE);
  }
  return relaxedSupport;
}

/** The build to run: the relaxed SIMD one when asked for and the engine compiles it. */
function kernelsUrl(relaxed: boolean): URL {
  return relaxed && relaxedSimdSupported() ? relaxedKernelsWasmUrl : kernelsWasmUrl;
}

const compiled = new Map<URL, WasmModule | null>();

/**
 * The compiled module (the relaxed SIMD build when `relaxed` and the engine runs it), or null
 * where it cannot be read synchronously (no node:fs, or not built).
 */
export function loadKernelsModule(relaxed: boolean): WasmModule | null {
  const built = kernelsUrl(relaxed);
  const known = compiled.get(built);
  if (known !== undefined) return known;
  const process = (globalThis as { process?: NodeProcess }).process;
  const fs = process?.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
  const url = process?.getBuiltinModule?.('node:url') as typeof import('node:url') | undefined;
  let module: WasmModule | null = null;
  if (fs && url && built.protocol === 'file:') {
    const name = built.pathname.slice(built.pathname.lastIndexOf('/') + 1);
    // Built layout (dist/fast/ → dist/), then the sources' (src/fast/ → dist/).
    for (const candidate of [built, new URL(`../../dist/${name}`, import.meta.url)]) {
      const path = url.fileURLToPath(candidate);
      if (fs.existsSync(path)) {
        module = new wasmApi.Module(fs.readFileSync(path));
        break;
      }
    }
  }
  compiled.set(built, module);
  return module;
}

/**
 * For hosts that fetch the kernels themselves (browsers): compiles the relaxed SIMD build where the
 * engine runs it (and `relaxed` is not false), else the plain one, for `createCpuBackend({
 * wasmModule })`. `load` returns a file's bytes, e.g. `(url) => fetch(url).then((r) =>
 * r.arrayBuffer())`; it is given `relaxedKernelsWasmUrl` or `kernelsWasmUrl`.
 */
export async function compileKernels(
  load: (url: URL) => Promise<ArrayBuffer | ArrayBufferView>,
  { relaxed = true }: { relaxed?: boolean } = {},
): Promise<WasmModule> {
  // Asynchronous: browsers refuse to compile modules over 4 KB synchronously on their main thread.
  return wasmApi.compile(await load(kernelsUrl(relaxed)));
}
