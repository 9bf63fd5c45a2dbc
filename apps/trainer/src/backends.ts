/**
 * The backends the trainer can run on, through core's registry: each backend package registers
 * itself by name and priority, and `--backend auto` takes the highest-priority one that starts on
 * a real device (core's `bestBackend`; one emulated in software, such as WebGPU on SwiftShader,
 * only when no other starts). Adding a backend is one `registerXBackend` call here and its name in
 * `BACKENDS`.
 */
import { registerCpuBackend } from '@octet/backend-cpu';
import { registerTfjsBackend } from '@octet/backend-tfjs';
import { registerWebGpuBackend } from '@octet/backend-webgpu';
import { type Backend, backendsByPriority, bestBackend, getBackend } from '@octet/core';

/** `--backend`: a registered backend by name, or `auto`. */
export const BACKENDS = ['cpu', 'webgpu', 'tfjs', 'auto'] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * `auto` tries these in this order: a GPU first, then the WASM CPU kernels, then tfjs (wasm or CUDA);
 * a GPU emulated in software (SwiftShader) comes last.
 */
const PRIORITY = { webgpu: 2, cpu: 1, tfjs: 0 } as const;

registerWebGpuBackend(PRIORITY.webgpu);
registerTfjsBackend(PRIORITY.tfjs);
/** The CPU backend is registered per thread count (`--threads`); its workers live on with it. */
let cpuThreads: number | undefined;
registerCpuBackend(PRIORITY.cpu);

export interface ChosenBackend {
  backend: Backend;
  /** What runs it and, for `auto`, why it was picked: one line for the user. */
  description: string;
}

/** The named backend (`auto`: the best one that starts, saying why). */
export async function createTrainBackend(name: BackendName, threads?: number): Promise<ChosenBackend> {
  if (threads !== cpuThreads) {
    registerCpuBackend(PRIORITY.cpu, threads === undefined ? {} : { threads });
    cpuThreads = threads;
  }
  if (name !== 'auto') {
    const backend = await getBackend(name);
    return { backend, description: `backend ${backend.name}${detail(backend)}` };
  }
  const skipped: string[] = [];
  const backend = await bestBackend({ onSkip: (skip, error) => skipped.push(`${skip} (${error.message})`) });
  const how =
    backend.emulated === undefined
      ? 'the first that starts on a real device'
      : `none starts on a real device, so the first on an emulated one (${backend.emulated})`;
  const why = `${how} in the order ${backendsByPriority().join(' > ')}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''}`;
  return { backend, description: `--backend auto picked ${backend.name}${detail(backend)}: ${why}` };
}

/** Which engine or adapter runs a backend, where there is a choice. */
function detail(backend: Backend): string {
  const { engine, engineReason, adapterDescription } = backend as { engine?: string; engineReason?: string; adapterDescription?: string };
  if (engine !== undefined) return ` (tfjs engine '${engine}': ${engineReason})`;
  if (adapterDescription !== undefined) return ` (adapter: ${adapterDescription})`;
  return '';
}
