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
 * The highest-priority registered backend that initialises on a real device; one whose device is
 * emulated in software (`Backend.emulated`, e.g. WebGPU on SwiftShader, far slower than the CPU
 * backend) only when no other starts, the first such. `onSkip` hears, in priority order, each one
 * passed over and why (for saying what was picked and why).
 */
export async function bestBackend({ onSkip }: { onSkip?: (name: string, error: Error) => void } = {}): Promise<Backend> {
  const passed: { name: string; error?: Error; emulated?: Backend }[] = [];
  const pick = (picked: Backend): Backend => {
    for (const { name, error, emulated } of passed) {
      if (emulated === picked) continue;
      const slower = picked.emulated === undefined ? `slower than ${picked.name}` : `as is ${picked.name}, which comes first`;
      onSkip?.(name, error ?? new Error(`runs on an emulated device (${emulated!.emulated}): ${slower}`));
    }
    return picked;
  };
  for (const name of backendsByPriority()) {
    let backend: Backend;
    try {
      backend = await getBackend(name);
    } catch (error) {
      passed.push({ name, error: error as Error });
      continue;
    }
    if (backend.emulated === undefined) return pick(backend);
    passed.push({ name, emulated: backend });
  }
  const fallback = passed.find((p) => p.emulated !== undefined)?.emulated;
  if (fallback !== undefined) return pick(fallback);
  const failures = passed.map(({ name, error }) => `${name}: ${error!.message}`);
  throw new Error(`no backend could be initialised (${failures.join('; ') || 'none registered'})`);
}
