// Helpers shared by the fast-kernel tests: seeded inputs, running one kernel, MatMul's tolerance.
import { type Backend, type Fp8Format, fp8, type KernelName, type TensorInfo } from '@octet/core';
import { expect } from 'vitest';
import type { CpuBackend } from '../src/index.js';

export const FORMATS: Fp8Format[] = ['e4m3fn', 'e5m2', 'e4m3fnuz', 'e5m2fnuz'];

export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

export function randomF32(n: number, seed: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

/** Random finite codes of `format`, or with a few NaN / infinity codes among them when `special`. */
export function randomCodes(n: number, format: Fp8Format, seed: number, special = false): Uint8Array {
  const next = random(seed);
  const table = fp8.decodeTable(format);
  const finite = [...table.keys()].filter((code) => Number.isFinite(table[code]!));
  const codes = Uint8Array.from({ length: n }, () => finite[Math.floor(next() * finite.length)]!);
  if (special && n > 0) {
    const specials = [...table.keys()].filter((code) => !Number.isFinite(table[code]!));
    codes[Math.floor(n / 2)] = specials[0]!;
  }
  return codes;
}

export function run(backend: Backend, kernel: KernelName, inputs: Record<string, TensorInfo>, attrs: object): Float32Array {
  const func = backend.kernels.get(kernel)!;
  const out = func({ inputs, attrs, backend } as never);
  return (backend as CpuBackend).readSync(out) as Float32Array;
}

/** MatMul's tolerance: 1e-5 relative to the size of the result; NaN matches NaN, infinities match exactly. */
export function expectClose(actual: Float32Array, expected: Float32Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  let max = 0;
  for (const v of expected) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) expect.fail(`${label}: [${i}] is ${a}, expected ${e}`);
      continue;
    }
    if (!(Math.abs(a - e) <= 1e-5 * (Math.abs(e) + max))) expect.fail(`${label}: [${i}] is ${a}, expected ${e} (largest ${max})`);
  }
}

export const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
