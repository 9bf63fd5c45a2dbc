// Backends by name and by priority: what `--backend auto` in the apps stands on.
import { describe, expect, it } from 'vitest';
import { type Backend, backendsByPriority, bestBackend, getBackend, registerBackend } from '../src/index.js';

const fake = (name: string, emulated?: string) => ({ name, emulated }) as unknown as Backend;

describe('the backend registry', () => {
  it('tries backends by priority, reporting each one that failed to start, and returns the first that starts', async () => {
    registerBackend('test-low', () => fake('test-low'), -10);
    registerBackend('test-broken', () => Promise.reject(new Error('no device')), 100);
    registerBackend('test-high', () => fake('test-high'), 50);
    const order = backendsByPriority();
    expect(order.indexOf('test-broken')).toBeLessThan(order.indexOf('test-high'));
    expect(order.indexOf('test-high')).toBeLessThan(order.indexOf('test-low'));
    const skipped: string[] = [];
    const backend = await bestBackend({ onSkip: (name, error) => skipped.push(`${name}: ${error.message}`) });
    expect(backend.name).toBe('test-high');
    expect(skipped).toEqual(['test-broken: no device']);
    // Created once per registration.
    expect(await getBackend('test-high')).toBe(backend);
    await expect(getBackend('test-none')).rejects.toThrow(/^backend: got "test-none"; allowed: .*"test-high"/);
  });

  it('passes over a backend on an emulated device while a lower-priority one starts, saying why', async () => {
    registerBackend('test-emulated', () => fake('test-emulated', 'SwiftShader'), 200);
    const skipped: string[] = [];
    const backend = await bestBackend({ onSkip: (name, error) => skipped.push(`${name}: ${error.message}`) });
    expect(backend.name).toBe('test-high');
    expect(skipped).toEqual(['test-emulated: runs on an emulated device (SwiftShader): slower than test-high', 'test-broken: no device']);
  });

  it('returns the first backend on an emulated device only when nothing else starts', async () => {
    registerBackend('test-emulated-too', () => fake('test-emulated-too', 'llvmpipe'), 150);
    registerBackend('test-high', () => Promise.reject(new Error('no device')), 50);
    registerBackend('test-low', () => Promise.reject(new Error('no library')), -10);
    const skipped: string[] = [];
    const backend = await bestBackend({ onSkip: (name, error) => skipped.push(`${name}: ${error.message}`) });
    expect(backend.name).toBe('test-emulated');
    expect(backend.emulated).toBe('SwiftShader');
    expect(skipped).toEqual([
      'test-emulated-too: runs on an emulated device (llvmpipe): as is test-emulated, which comes first',
      'test-broken: no device',
      'test-high: no device',
      'test-low: no library',
    ]);
  });

  it('says why each backend failed when none starts', async () => {
    registerBackend('test-emulated', () => Promise.reject(new Error('no adapter')), 200);
    registerBackend('test-emulated-too', () => Promise.reject(new Error('no adapter')), 150);
    await expect(bestBackend()).rejects.toThrow(
      'no backend could be initialised (test-emulated: no adapter; test-emulated-too: no adapter; test-broken: no device; test-high: no device; test-low: no library)',
    );
  });
});
