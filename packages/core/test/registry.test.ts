// Backends by name and by priority: what `--backend auto` in the apps stands on.
import { describe, expect, it } from 'vitest';
import { type Backend, backendsByPriority, bestBackend, getBackend, registerBackend } from '../src/index.js';

const fake = (name: string) => ({ name }) as unknown as Backend;

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
});
