/** Backends by name, and the best available one by priority. */
import type { Backend } from './backend.js';
import { check } from './errors.js';

interface Registration {
  factory: () => Backend | Promise<Backend>;
  priority: number;
  instance?: Backend;
}

const registrations = new Map<string, Registration>();

/** Registers a backend factory. Higher priority wins in `bestBackend()`. */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>, priority = 0): void {
  registrations.set(name, { factory, priority });
}

export function registeredBackends(): string[] {
  return [...registrations.keys()];
}

/** Creates (once) and returns the backend registered under `name`. */
export async function getBackend(name: string): Promise<Backend> {
  const registration = registrations.get(name);
  check(
    registration !== undefined,
    'backend',
    name,
    registeredBackends()
      .map((n) => JSON.stringify(n))
      .join(', ') || 'no backend is registered',
  );
  registration.instance ??= await registration.factory();
  return registration.instance;
}

/** The registered backends' names, highest priority first (the order `bestBackend()` tries them in). */
export function backendsByPriority(): string[] {
  return [...registrations.entries()].sort((a, b) => b[1].priority - a[1].priority).map(([name]) => name);
}

/**
 * The highest-priority registered backend that initialises. `onSkip` hears each one tried before
 * it that failed, and why (for saying what was picked and why).
 */
export async function bestBackend({ onSkip }: { onSkip?: (name: string, error: Error) => void } = {}): Promise<Backend> {
  const failures: string[] = [];
  for (const name of backendsByPriority()) {
    try {
      return await getBackend(name);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
      onSkip?.(name, error as Error);
    }
  }
  throw new Error(`no backend could be initialised (${failures.join('; ') || 'none registered'})`);
}
