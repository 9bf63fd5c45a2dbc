// FP8 operand health (core's nn/fp8-health.ts), run on the CPU backend: core's own tests have no backend.
import { createCpuBackend } from '@octet/backend-cpu';
import {
  attachFp8HealthProbe,
  Fp8HealthProbe,
  fp8,
  fp8OperandStats,
  Linear,
  Module,
  op,
  recipes,
  setBackend,
  tidy,
  valueAndGrads,
} from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { healthWarnings } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

async function stats(values: number[], scale: number, format: 'e4m3fn' | 'e5m2') {
  const t = tidy(() => {
    const x = op.tensor(Float32Array.from(values), [values.length]);
    const s = op.scalar(scale);
    return fp8OperandStats(x, s, op.quantizeTensor(x, s, format), format);
  });
  const out = Array.from((await t.data()) as Float32Array);
  t.dispose();
  return out;
}

class TwoLayers extends Module {
  readonly fc: Linear;
  readonly proj: Linear;
  constructor(recipe: ReturnType<typeof recipes.current>) {
    super();
    this.fc = this.addModule('fc', new Linear(8, 16, { recipe, initStd: 0.5, seed: 1 }));
    this.proj = this.addModule('proj', new Linear(16, 4, { recipe, initStd: 0.5, seed: 2, highPrecision: true }));
  }
}

describe('fp8OperandStats', () => {
  it('gives amax, scale, the saturated fraction and the flushed fraction of nonzero elements', async () => {
    // e4m3fn max 448: 1000·1 saturates; 1e-9 flushes to a zero code; 0 is not counted as flushed.
    expect(await stats([1000, -1, 0, 1e-9], 1, 'e4m3fn')).toEqual([1000, 1, 0.25, Math.fround(1 / 3)]);
    // The scale applies before the cast: ×0.25 brings 1000 under 448 and pushes 1e-3 below e4m3's smallest subnormal (2^-9).
    expect(await stats([1000, -1, 1e-3, 2], 0.25, 'e4m3fn')).toEqual([1000, 0.25, 0, 0.25]);
    // e5m2 max 57344.
    expect(await stats([60000, 1, 2, 3], 1, 'e5m2')).toEqual([60000, 1, 0.25, 0]);
  });
});

describe('fp8OperandStats on an operand larger than one pass', () => {
  it('counts over every chunk of rows', async () => {
    const [rows, width] = [3, 70_000];
    const values = Float32Array.from({ length: rows * width }, (_, i) => ((i * 7919) % 1000) - 500);
    for (let i = 0; i < values.length; i += 97) values[i] = 1e-9; // flushed to a zero code
    const t = tidy(() => {
      const x = op.tensor(values, [rows, width]);
      const s = op.scalar(1);
      return fp8OperandStats(x, s, op.quantizeTensor(x, s, 'e4m3fn'), 'e4m3fn');
    });
    const [amax, , saturated, flushed] = Array.from((await t.data()) as Float32Array);
    t.dispose();
    const codes = fp8.encode(values, 'e4m3fn');
    const decoded = fp8.decode(codes, 'e4m3fn');
    const nonzero = values.filter((v) => v !== 0).length;
    const zeroCodes = values.filter((v, i) => v !== 0 && decoded[i] === 0).length;
    expect(amax).toBe(500);
    expect(saturated).toBeCloseTo(values.filter((v) => Math.abs(v) > 448).length / values.length, 6);
    expect(flushed).toBeCloseTo(zeroCodes / nonzero, 6);
    expect(zeroCodes).toBeGreaterThan(2000);
  });
});

describe('Fp8HealthProbe', () => {
  it('records x, w and dy of every FP8 Linear by module path, only while armed and training', async () => {
    setBackend(createCpuBackend({ threads: 1 }));
    const model = new TwoLayers(recipes.current());
    const probe = new Fp8HealthProbe();
    // The high-precision layer has no FP8 GEMMs to report.
    expect(attachFp8HealthProbe(model, probe)).toEqual(['fc']);
    const step = () =>
      tidy(() => {
        const x = op.randomNormal([4, 8], { std: 1, seed: 3 });
        const { value, grads } = valueAndGrads(() => op.sum(model.proj.apply(model.fc.apply(x))), model.parameters());
        for (const t of [value, ...grads]) t.dispose();
      });
    step();
    expect(await probe.collect()).toEqual([]);
    probe.arm();
    step();
    const health = await probe.collect();
    expect(health.map((h) => `${h.layer}.${h.operand}:${h.format}`)).toEqual(['fc.x:e4m3fn', 'fc.w:e4m3fn', 'fc.dy:e5m2']);
    const x = health[0]!;
    // Current scaling maps the amax to the format's max: nothing saturates.
    expect(x.amax).toBeGreaterThan(0);
    expect(x.scale * x.amax).toBeCloseTo(448, 0);
    expect(x.saturated).toBe(0);
    // Evaluation (training = false) records nothing even when armed.
    model.fc.training = false;
    probe.arm();
    tidy(() => model.fc.apply(op.ones([2, 8])).dispose());
    expect(await probe.collect()).toEqual([]);
    expect(probe.isArmed).toBe(false);
  });

  it('warns above the thresholds, naming the layer and operand', () => {
    const base = { format: 'e4m3fn' as const, amax: 1, scale: 1 };
    const warnings = healthWarnings(
      7,
      [
        { ...base, layer: 'blocks.0.mlp.fc', operand: 'x', saturated: 0.01, flushed: 0 },
        { ...base, layer: 'blocks.1.attn.q', operand: 'dy', saturated: 0, flushed: 0.5 },
        { ...base, layer: 'blocks.1.attn.k', operand: 'w', saturated: 1e-4, flushed: 1e-3 },
      ],
      { saturationWarn: 1e-3, underflowWarn: 1e-2 },
    );
    expect(warnings.map((w) => [w.layer, w.operand, w.kind])).toEqual([
      ['blocks.0.mlp.fc', 'x', 'saturation'],
      ['blocks.1.attn.q', 'dy', 'underflow'],
    ]);
    expect(warnings[0]!.message).toMatch(/^step 7: blocks\.0\.mlp\.fc x: 1\.00% of elements saturate e4m3fn/);
  });
});
