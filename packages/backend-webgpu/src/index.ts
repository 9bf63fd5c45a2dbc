import { registerBackend } from '@octet/core';
import { WebGpuBackend } from './base.js';
import { acquireDevice, type DeviceRequest } from './device.js';
import { WEBGPU_KERNELS } from './register-all-kernels.js';

export { WebGpuBackend, WebGpuData } from './base.js';
export { type DeviceRequest, NO_ADAPTER_HELP } from './device.js';
export { type Program, shaderSource } from './program.js';
export { WEBGPU_KERNELS } from './register-all-kernels.js';
export { fp8Wgsl } from './shaders/fp8.wgsl.js';

export type WebGpuBackendOptions = DeviceRequest;

/**
 * Every kernel in WGSL, on `navigator.gpu` in a browser or Dawn (npm `webgpu`) in Node. Throws an
 * error saying how to get an adapter when there is none.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const { device, description, emulated } = await acquireDevice(options);
  return new WebGpuBackend(device, WEBGPU_KERNELS, description, emulated);
}

/** Makes the WebGPU backend available by name ('webgpu') to `getBackend` / `bestBackend`. */
export function registerWebGpuBackend(priority = 2): void {
  registerBackend('webgpu', () => createWebGpuBackend(), priority);
}
