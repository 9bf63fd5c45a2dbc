/**
 * The octet backends a model can be served on, through core's registry: each backend package
 * registers itself by name and priority, and `--backend auto` takes the highest-priority one that
 * starts on a real device (core's `bestBackend`; one emulated in software, such as WebGPU on
 * SwiftShader, only when no other starts). ONNX Runtime is not an octet backend (it runs an
 * exported graph, not octet's kernels), so `onnx` is chosen by name only.
 */
import { registerCpuBackend } from '@octet/backend-cpu';
import { registerTfjsBackend, type TfjsEngineRequest } from '@octet/backend-tfjs';
import { registerWebGpuBackend } from '@octet/backend-webgpu';
import { type Backend, backendsByPriority, bestBackend, getBackend } from '@octet/core';

export const SERVER_BACKENDS = ['cpu', 'webgpu', 'tfjs', 'onnx', 'auto'] as const;
export type ServerBackend = (typeof SERVER_BACKENDS)[number];
/** The backends that run octet's kernels (`GptDecoder`). */
export type OctetBackendName = 'cpu' | 'webgpu' | 'tfjs';

/**
 * `auto` tries these in this order: a GPU first, then the WASM CPU kernels, then tfjs (wasm or CUDA);
 * a GPU emulated in software (SwiftShader) comes last.
 */
const PRIORITY = { webgpu: 2, cpu: 1, tfjs: 0 } as const;

registerWebGpuBackend(PRIORITY.webgpu);

/** The options the CPU and tfjs backends are registered with now (re-registered when a model asks for others). */
let registered: { threads?: number; tfjsEngine: TfjsEngineRequest } | null = null;

export interface BackendOptions {
  /** CPU backend worker threads (default: one per core). */
  threads?: number;
  /** The tfjs engine (default 'auto': tensorflow if tfjs-node(-gpu) loads, else wasm, else cpu). */
  tfjsEngine?: TfjsEngineRequest;
}

/** The named octet backend (`auto`: the best that starts), what runs it, and for `auto` why it was picked. */
export async function createBackend(
  name: OctetBackendName | 'auto',
  { threads, tfjsEngine = 'auto' }: BackendOptions,
): Promise<{ backend: Backend; name: OctetBackendName; detail?: string }> {
  if (registered === null || registered.threads !== threads) registerCpuBackend(PRIORITY.cpu, threads === undefined ? {} : { threads });
  if (registered === null || registered.tfjsEngine !== tfjsEngine) registerTfjsBackend(PRIORITY.tfjs, { engine: tfjsEngine });
  registered = { threads, tfjsEngine };
  if (name !== 'auto') {
    const backend = await getBackend(name);
    return { backend, name, ...detail(backend) };
  }
  const skipped: string[] = [];
  const backend = await bestBackend({ onSkip: (skip, error) => skipped.push(`${skip} (${error.message})`) });
  const runs = detail(backend).detail;
  const how =
    backend.emulated === undefined
      ? 'the first that starts on a real device'
      : `none starts on a real device, so the first on an emulated one (${backend.emulated})`;
  const why = `${how} in the order ${backendsByPriority().join(' > ')}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''}`;
  return {
    backend,
    name: backend.name as OctetBackendName,
    detail: `--backend auto picked ${backend.name}${runs === undefined ? '' : ` (${runs})`}: ${why}`,
  };
}

/** Which engine or adapter runs a backend, where there is a choice. */
function detail(backend: Backend): { detail?: string } {
  const { engine, engineReason, adapterDescription } = backend as { engine?: string; engineReason?: string; adapterDescription?: string };
  if (engine !== undefined) return { detail: `tfjs engine '${engine}': ${engineReason}` };
  if (adapterDescription !== undefined) return { detail: adapterDescription };
  return {};
}
