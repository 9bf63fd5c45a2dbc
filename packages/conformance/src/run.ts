import { createReferenceBackend } from '@octet/backend-cpu';
import { type Backend, getActiveBackend, KERNEL_NAMES, type KernelName, setBackend } from '@octet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConformanceContext, makeTest } from './harness.js';
import { defineCodebookCases } from './kernels/codebook.js';
import { defineElementwiseCases } from './kernels/elementwise.js';
import { defineFp8Cases } from './kernels/fp8.js';
import { defineGradientCases } from './kernels/gradients.js';
import { defineMatMulCases } from './kernels/matmul.js';
import { defineMovementCases } from './kernels/movement.js';
import { defineReductionCases } from './kernels/reductions.js';
import { defineModelCases } from './models/gpt.js';

export interface ConformanceOptions {
  /**
   * Tests not to run, as data: each key is a kernel name (skips every test of that kernel) or a test
   * title; each value is the reason, shown in the skipped test's title. A key that names no kernel
   * and no test is an error, so a skip cannot outlive what it was for.
   */
  skip?: Readonly<Record<string, string>>;
}

/**
 * Defines the conformance suite as vitest `describe`/`it` blocks: `createBackend` is called once,
 * before the tests; each test runs the same inputs on it and on the CPU reference backend.
 */
export function runConformance(name: string, createBackend: () => Backend | Promise<Backend>, options: ConformanceOptions = {}): void {
  const skip = options.skip ?? {};
  const covered = new Set<KernelName>();
  const titles = new Set<string>();
  let backend: Backend | null = null;
  let reference: Backend | null = null;
  let previous: Backend | null = null;

  const test = makeTest(skip, covered);
  const ctx: ConformanceContext = {
    backend: () => backend ?? fail('the backend under test'),
    reference: () => reference ?? fail('the reference backend'),
    test: (title, kernels, body) => {
      titles.add(title);
      test(title, kernels, body);
    },
  };

  describe(`conformance: ${name}`, () => {
    beforeAll(async () => {
      try {
        previous = getActiveBackend();
      } catch {
        previous = null; // no backend was set before the suite
      }
      reference = createReferenceBackend();
      backend = await createBackend();
    });
    afterAll(() => {
      if (previous) setBackend(previous);
    });

    ctx.test('implements every kernel of the contract', [], async () => {
      const missing = KERNEL_NAMES.filter((k) => !ctx.backend().kernels.has(k) && !Object.hasOwn(skip, k));
      expect(missing, `kernels missing from backend ${ctx.backend().name}`).toEqual([]);
    });
    describe('FP8', () => defineFp8Cases(ctx));
    describe('codebooks', () => defineCodebookCases(ctx));
    describe('elementwise', () => defineElementwiseCases(ctx));
    describe('shape and data movement', () => defineMovementCases(ctx));
    describe('reductions and fused NN kernels', () => defineReductionCases(ctx));
    describe('matmul', () => defineMatMulCases(ctx));
    describe('autograd', () => defineGradientCases(ctx));
    describe('models', () => defineModelCases(ctx));

    // Checked once every case is defined: a kernel with no case is a gap in the suite itself, and a
    // skip naming nothing would hide a typo.
    it('covers every kernel of the contract; every skip names a kernel or a test', () => {
      expect(
        KERNEL_NAMES.filter((k) => !covered.has(k)),
        'kernels with no conformance case',
      ).toEqual([]);
      expect(
        Object.keys(skip).filter((k) => !titles.has(k) && !(KERNEL_NAMES as readonly string[]).includes(k)),
        'skip keys that name no kernel and no test (allowed: a name in KERNEL_NAMES or a test title)',
      ).toEqual([]);
    });
  });
}

function fail(what: string): never {
  throw new Error(`conformance: ${what} is not ready: it is created in beforeAll, so use it inside a test`);
}
