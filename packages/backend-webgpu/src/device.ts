/**
 * Finding a GPU: `navigator.gpu` in a browser; in Node the npm package `webgpu` (Dawn), whose
 * `globals` (GPUBufferUsage, ...) are copied onto globalThis as a browser would provide them.
 */

/** What to do when there is no adapter, the message of the error thrown. */
export const NO_ADAPTER_HELP =
  "no WebGPU adapter found. On a machine without a GPU, Dawn runs on SwiftShader: install Debian's " +
  'chromium and the Vulkan loader (apt-get install -y chromium libvulkan1) and set ' +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; in a browser, enable WebGPU.';

export interface DeviceRequest {
  /** Passed to requestAdapter (ignored by software adapters). */
  powerPreference?: GPUPowerPreference;
  /** Options for Dawn's `create` in Node, e.g. ['backend=vulkan'] (used by the first backend created). */
  dawnOptions?: string[];
}

export interface AcquiredDevice {
  device: GPUDevice;
  /** Vendor, architecture and description of the adapter, for logs. */
  description: string;
  /** What emulates the device in software (e.g. 'SwiftShader'), when it is not real hardware. */
  emulated?: string;
}

/** Software rasterisers a WebGPU adapter can run on, as their names appear in the adapter's info. */
const SOFTWARE_DEVICES = { swiftshader: 'SwiftShader', llvmpipe: 'llvmpipe', lavapipe: 'lavapipe' } as const;

/**
 * What emulates the adapter's device in software, or undefined for real hardware: a known software
 * rasteriser named in its vendor, architecture or description, else 'a software fallback adapter'
 * when the adapter says it is one.
 */
export function emulatedDevice(
  info: Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'description' | 'isFallbackAdapter'>>,
): string | undefined {
  const names = [info.vendor, info.architecture, info.description].join(' ').toLowerCase();
  for (const [key, name] of Object.entries(SOFTWARE_DEVICES)) if (names.includes(key)) return name;
  return info.isFallbackAdapter === true ? 'a software fallback adapter' : undefined;
}

/**
 * Dawn's GPU object in Node, created once and held for the life of the process: if it were garbage
 * collected, Dawn would tear down its instance under the devices still using it.
 */
let dawnGpu: GPU | undefined;

async function gpuEntryPoint(dawnOptions: string[]): Promise<GPU> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu) return browserGpu;
  if (!dawnGpu) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    dawnGpu = create(dawnOptions);
  }
  return dawnGpu;
}

/** Requests an adapter and a device, or throws an error saying how to get one. */
export async function acquireDevice({
  powerPreference = 'high-performance',
  dawnOptions = [],
}: DeviceRequest = {}): Promise<AcquiredDevice> {
  const gpu = await gpuEntryPoint(dawnOptions);
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new Error(`createWebGpuBackend: ${NO_ADAPTER_HELP}`);
  const device = await adapter.requestDevice();
  const info = adapter.info;
  const description = [info?.vendor, info?.architecture, info?.description].filter((s) => s).join(' / ') || 'unknown adapter';
  return { device, description, emulated: info === undefined ? undefined : emulatedDevice(info) };
}
