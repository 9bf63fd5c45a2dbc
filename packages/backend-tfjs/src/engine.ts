/**
 * Choosing and starting the tfjs engine. tfjs-core keeps one global engine per process, so the
 * engine is chosen once, by the first `createTfjsBackend` call; later calls share it.
 */
import { check } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';

/** The tfjs engines this package can run on. */
export type TfjsEngine = 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';
/** An engine, or 'auto': tensorflow (tfjs-node-gpu, then tfjs-node) if it loads, else wasm, else cpu. */
export type TfjsEngineRequest = 'auto' | TfjsEngine;

export const TFJS_ENGINE_REQUESTS: readonly TfjsEngineRequest[] = ['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu'];

export interface EngineChoice {
  engine: TfjsEngine;
  /** Why this engine runs, in one line (what was asked, what loaded, what did not and why). */
  reason: string;
}

export interface EngineOptions {
  /** Folder (or URL prefix) holding tfjs-backend-wasm's .wasm files; in Node the package's own dist folder by default. */
  wasmPaths?: string;
}

// Specifiers held in variables: the optional peers have no types here, and bundlers must not
// insist on resolving them.
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';
const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';

let current: { request: TfjsEngineRequest; choice: Promise<EngineChoice> } | null = null;

/**
 * Starts the tfjs engine `request` names (once per process) and says which one runs and why.
 * A later call asking for a different engine than the one running is an error: tfjs-core has
 * one engine per process and would copy every tensor between engines behind our back.
 */
export async function startEngine(request: TfjsEngineRequest, options: EngineOptions = {}): Promise<EngineChoice> {
  check(
    typeof request === 'string' && (TFJS_ENGINE_REQUESTS as readonly string[]).includes(request),
    'engine',
    request,
    TFJS_ENGINE_REQUESTS.map((e) => `'${e}'`).join(', '),
  );
  if (current === null) {
    const choice = choose(request, options);
    current = { request, choice };
    // A failed start leaves the choice open for the next call.
    choice.catch(() => {
      if (current?.choice === choice) current = null;
    });
    return choice;
  }
  const running = await current.choice;
  check(
    request === 'auto' || request === running.engine,
    'engine',
    request,
    `'${running.engine}' or 'auto': this process already runs tfjs on '${running.engine}' (${running.reason}), and tfjs-core has one engine per process`,
  );
  return running;
}

async function choose(request: TfjsEngineRequest, options: EngineOptions): Promise<EngineChoice> {
  switch (request) {
    case 'tensorflow': {
      const tensorflow = await loadTensorflow();
      if (!tensorflow.loaded) {
        throw new Error(
          `engine 'tensorflow' needs ${TFJS_NODE_GPU} (CUDA) or ${TFJS_NODE} (CPU), and neither loads: ${tensorflow.detail}. ` +
            `Install one (pnpm add ${TFJS_NODE_GPU}; its install downloads libtensorflow and needs CUDA 11.2 and cuDNN 8.1), or ask for 'wasm' or 'cpu'`,
        );
      }
      return activate('tensorflow', `asked for 'tensorflow'; ${tensorflow.detail}`);
    }
    case 'wasm':
      await startWasm(options);
      return activate('wasm', "asked for 'wasm'");
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return activate('cpu', "asked for 'cpu'");
    case 'webgpu':
      try {
        await import(TFJS_WEBGPU);
      } catch (error) {
        throw new Error(
          `engine 'webgpu' needs ${TFJS_WEBGPU} 4.22.0, which does not load (${firstLine(error)}): pnpm add ${TFJS_WEBGPU}@4.22.0, in a runtime with navigator.gpu`,
        );
      }
      return activate('webgpu', "asked for 'webgpu'");
    default: {
      const tensorflow = await loadTensorflow();
      if (tensorflow.loaded) return activate('tensorflow', `auto: ${tensorflow.detail}`);
      try {
        await startWasm(options);
        return await activate('wasm', `auto: ${tensorflow.detail}; wasm runs`);
      } catch (error) {
        await import('@tensorflow/tfjs-backend-cpu');
        return activate('cpu', `auto: ${tensorflow.detail}; wasm does not start (${firstLine(error)}); cpu (pure JS) runs`);
      }
    }
  }
}

/** Imports tfjs-node-gpu, else tfjs-node (each registers the 'tensorflow' engine); says what loaded or why neither did. */
async function loadTensorflow(): Promise<{ loaded: boolean; detail: string }> {
  const failures: string[] = [];
  for (const [specifier, what] of [
    [TFJS_NODE_GPU, 'CUDA'],
    [TFJS_NODE, 'CPU'],
  ] as const) {
    try {
      await import(specifier);
      const note = failures.length > 0 ? ` (${failures.join('; ')})` : '';
      return { loaded: true, detail: `${specifier} loads: the 'tensorflow' engine runs on libtensorflow (${what})${note}` };
    } catch (error) {
      failures.push(`${specifier} does not load: ${firstLine(error)}`);
    }
  }
  return { loaded: false, detail: failures.join('; ') };
}

async function startWasm({ wasmPaths }: EngineOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const paths = wasmPaths ?? (await nodeWasmPaths());
  if (paths !== undefined) wasm.setWasmPaths(paths);
}

/** In Node the .wasm files sit next to the package's main file; browsers fetch them relative to the page unless told. */
async function nodeWasmPaths(): Promise<string | undefined> {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (process?.versions?.node === undefined) return undefined;
  const { createRequire } = await import('node:module');
  const { dirname } = await import('node:path');
  const require = createRequire(import.meta.url);
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
}

async function activate(engine: TfjsEngine, reason: string): Promise<EngineChoice> {
  if (!(await tf.setBackend(engine))) throw new Error(`tfjs engine '${engine}' is registered but failed to initialise`);
  await tf.ready();
  return { engine, reason };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}
