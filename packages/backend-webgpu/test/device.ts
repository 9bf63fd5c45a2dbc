/**
 * One WebGPU backend for a test file, or the reason there is none. Outside CI a machine without an
 * adapter skips the WebGPU tests with a message saying how to get one; with CI=true it is a failure.
 */
import { it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../src/index.js';

export type Availability = { backend: WebGpuBackend; reason?: undefined } | { backend?: undefined; reason: string };

export async function webGpuAvailability(): Promise<Availability> {
  try {
    return { backend: await createWebGpuBackend() };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

/** Defines the tests of `available`, or a skipped (or, under CI, failing) stand-in saying why. */
export function whenAvailable(availability: Availability, title: string, define: (backend: WebGpuBackend) => void): void {
  if (availability.backend) {
    define(availability.backend);
    return;
  }
  if (process.env.CI === 'true') {
    it(`${title}: a WebGPU adapter is required under CI`, () => {
      throw new Error(availability.reason);
    });
  } else {
    console.warn(`skipping ${title}: ${availability.reason}`);
    it.skip(`${title} [skipped: ${availability.reason}]`, () => {});
  }
}
