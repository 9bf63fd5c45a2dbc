import { registerBackend } from '@octet/core';
import { TfjsBackend } from './base.js';
import { type EngineOptions, startEngine, type TfjsEngineRequest } from './engine.js';
import { TFJS_KERNELS } from './register-all-kernels.js';

export { TfjsBackend, TfjsData } from './base.js';
export { type EngineChoice, TFJS_ENGINE_REQUESTS, type TfjsEngine, type TfjsEngineRequest } from './engine.js';
export { TFJS_KERNELS } from './register-all-kernels.js';

export interface TfjsBackendOptions extends EngineOptions {
  /**
   * Which tfjs engine runs the kernels (default 'auto': tensorflow from @tensorflow/tfjs-node-gpu or
   * @tensorflow/tfjs-node when installed and loading, else wasm, else cpu). tfjs-core has one engine
   * per process: the first backend created picks it, and later ones must ask for it or for 'auto'.
   */
  engine?: TfjsEngineRequest;
}

/**
 * Every kernel as tfjs-core ops, with FP8 emulated bit-exactly. `backend.engine` and
 * `backend.engineReason` say which tfjs engine runs and why.
 */
export async function createTfjsBackend({ engine = 'auto', ...options }: TfjsBackendOptions = {}): Promise<TfjsBackend> {
  const choice = await startEngine(engine, options);
  return new TfjsBackend(TFJS_KERNELS, choice.engine, choice.reason);
}

/** Makes the tfjs backend available by name ('tfjs') to `getBackend` / `bestBackend`. */
export function registerTfjsBackend(priority = 0, options: TfjsBackendOptions = {}): void {
  registerBackend('tfjs', () => createTfjsBackend(options), priority);
}
