/**
 * The machinery every conformance case shares: run the same function on the reference (CPU) backend
 * and on the backend under test, read both results back, and compare them within a tolerance.
 */
import { type AnyTypedArray, type Backend, type KernelName, setBackend, type Tensor, tidy } from '@octet/core';
import { expect, it } from 'vitest';

/**
 * How close the backend's values must be to the reference's.
 * - 'exact': identical bits, except that any NaN matches any NaN (FP8 codes, data movement, integers).
 * - otherwise |actual − expected| ≤ rtol · (|expected| + floor), where `floor` is 1 for elementwise
 *   results and the largest |expected| for reductions and matmuls (summation order may differ, so
 *   the error is measured against the size of the result, not of each element).
 */
export type Tolerance = 'exact' | { rtol: number; floor?: 'one' | 'max' };

/** Elementwise f32: 1e-6 relative (the kernel contract). */
export const ELEMENTWISE: Tolerance = { rtol: 1e-6, floor: 'one' };
/** Reductions, matmuls, softmax: 1e-5 relative to the size of the result (the kernel contract). */
export const REDUCTION: Tolerance = { rtol: 1e-5, floor: 'max' };

export interface ConformanceContext {
  /** The backend under test (available inside tests). */
  readonly backend: () => Backend;
  /** The CPU reference backend (available inside tests). */
  readonly reference: () => Backend;
  /**
   * Defines one test that exercises `kernels`. It is skipped, with its reason in its title, when
   * the test's title or any of its kernels is listed in the `skip` option.
   */
  readonly test: (title: string, kernels: readonly KernelName[], body: () => Promise<void>) => void;
}

/** Runs `fn` inside `tidy` on `backend` and reads every returned tensor back. */
export async function runOn(backend: Backend, fn: () => Tensor | Tensor[]): Promise<AnyTypedArray[]> {
  setBackend(backend);
  const result = tidy(fn);
  const tensors = Array.isArray(result) ? result : [result];
  try {
    return await Promise.all(tensors.map((t) => t.data()));
  } finally {
    // Disposed while `backend` is still active: storage goes back to the backend that owns it.
    for (const t of tensors) t.dispose();
  }
}

/** Runs `fn` on the reference and on the backend under test; expects every output to agree. */
export async function expectSameOutputs(
  ctx: ConformanceContext,
  fn: () => Tensor | Tensor[],
  tolerance: Tolerance,
  label = 'output',
): Promise<AnyTypedArray[]> {
  const expected = await runOn(ctx.reference(), fn);
  const actual = await runOn(ctx.backend(), fn);
  expect(actual.length, `${label}: number of outputs`).toBe(expected.length);
  for (const [i, e] of expected.entries()) expectClose(actual[i]!, e, tolerance, expected.length > 1 ? `${label} ${i}` : label);
  return actual;
}

/** Asserts `actual` matches `expected` (type, length and values) within `tolerance`. */
export function expectClose(actual: AnyTypedArray, expected: AnyTypedArray, tolerance: Tolerance, label = 'output'): void {
  expect(actual.constructor.name, `${label}: array type`).toBe(expected.constructor.name);
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const mismatch = firstMismatch(actual, expected, tolerance);
  expect(mismatch, `${label}: values differ from the reference (tolerance ${JSON.stringify(tolerance)})`).toBeNull();
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsOf(value: number): number {
  f32[0] = value;
  return u32[0]!;
}

/** null when the arrays agree; otherwise the first bad element and how many are bad. */
function firstMismatch(
  actual: AnyTypedArray,
  expected: AnyTypedArray,
  tolerance: Tolerance,
): { index: number; actual: number; expected: number; bad: number } | null {
  let first: { index: number; actual: number; expected: number } | null = null;
  let bad = 0;
  let scale = 1;
  if (tolerance !== 'exact' && tolerance.floor === 'max') {
    scale = 0;
    for (const v of expected) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  }
  const float = expected instanceof Float32Array;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    let ok: boolean;
    if (Number.isNaN(e) || Number.isNaN(a)) ok = Number.isNaN(e) && Number.isNaN(a);
    else if (tolerance === 'exact' || !Number.isFinite(e)) ok = float ? bitsOf(a) === bitsOf(e) : a === e;
    else ok = Math.abs(a - e) <= tolerance.rtol * (Math.abs(e) + scale);
    if (!ok) {
      bad++;
      first ??= { index: i, actual: a, expected: e };
    }
  }
  return first && { ...first, bad };
}

/** Builds the `test` function of a context: skips are data, every skip shows its reason. */
export function makeTest(skip: Readonly<Record<string, string>>, covered: Set<KernelName>): ConformanceContext['test'] {
  return (title, kernels, body) => {
    for (const k of kernels) covered.add(k);
    const key = [title, ...kernels].find((k) => Object.hasOwn(skip, k));
    if (key !== undefined) it.skip(`${title} [skipped: ${skip[key]}]`, body);
    else it(title, body);
  };
}
