import { createCpuBackend } from '@octet/backend-cpu';
import { op, Random, setBackend, tidy, Variable, valueAndGrads } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sliceNorms, topSingularSubspace } from '../src/adam-snsm-projection.js';
import { selectRows } from '../src/grass-projection.js';
import { AdamSNSM, Grass, MicroAdam, SGD } from '../src/index.js';
import { minimize, quadratic } from './quadratic.js';

beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

describe('MicroAdam', () => {
  /** Runs `steps` on the quadratic, accumulating Σ raw gradients and Σ values put in the window. */
  function telescope(errorFormat: '4bit' | 'f32', steps: number) {
    const problem = quadratic(3, { rows: 20, cols: 300 }); // 6000 elements: three top-k blocks of 2048
    const optimizer = new MicroAdam([problem.w], { lr: 0.01, errorFormat, blockSize: 2048 });
    const raw = new Float64Array(problem.w.size);
    const applied = new Float64Array(problem.w.size);
    let slack = new Float64Array(problem.w.size); // Σ half quantization steps of the error
    for (let s = 0; s < steps; s++) {
      tidy(() => {
        const { grads } = valueAndGrads(() => op.sum(op.mul(problem.c, op.square(problem.w))), [problem.w]);
        const g = grads[0]!.dataSync();
        for (let i = 0; i < g.length; i++) raw[i]! += g[i]!;
        optimizer.applyGradients(grads);
      });
      const last = optimizer.lastApplied(problem.w);
      for (let i = 0; i < last.length; i++) applied[i]! += last[i]!;
      if (errorFormat === '4bit') {
        const state = optimizer.stateDict().tensors;
        const min = state['w.error_min']!.dataSync();
        const max = state['w.error_max']!.dataSync();
        slack = slack.map((v, i) => v + (max[Math.floor(i / 128)]! - min[Math.floor(i / 128)]!) / 30);
      }
    }
    const residual = optimizer.errorFeedback(problem.w);
    return { raw, applied, residual, slack, optimizer, problem };
  }

  it('error feedback telescopes: Σ applied + residual = Σ raw gradients (exact error storage)', () => {
    const { raw, applied, residual } = telescope('f32', 12);
    const scale = Math.max(...Array.from(raw, Math.abs));
    for (let i = 0; i < raw.length; i++) expect(Math.abs(applied[i]! + residual[i]! - raw[i]!)).toBeLessThanOrEqual(1e-5 * scale);
  });

  it('with the 4-bit error, the identity holds up to the accumulated half quantization steps', () => {
    const { raw, applied, residual, slack } = telescope('4bit', 12);
    const scale = Math.max(...Array.from(raw, Math.abs));
    let exceeded = 0;
    for (let i = 0; i < raw.length; i++)
      if (Math.abs(applied[i]! + residual[i]! - raw[i]!) > slack[i]! * (1 + 1e-4) + 1e-5 * scale) exceeded++;
    expect(exceeded).toBe(0);
  });

  it('applies 1% of each block per step and learns the quadratic', () => {
    const { optimizer, problem } = telescope('4bit', 1);
    const last = optimizer.lastApplied(problem.w);
    expect(last.filter((v) => v !== 0).length).toBe(21 + 21 + 20); // ⌈1% of 2048⌉ twice, ⌈1% of 1904⌉
    const fresh = quadratic(3, { rows: 20, cols: 300, name: 'v' });
    const start = fresh.loss();
    minimize(fresh, new MicroAdam([fresh.w], { lr: 0.05 }), 150);
    expect(fresh.loss()).toBeLessThan(start / 10);
  });

  it('by default selects the top 1% of a whole 128 × 128 tensor, as the published kernel (one block of up to 20,864)', () => {
    // The 164 largest gradients all sit in the first 2048 elements: blocks of 2048 would keep only 21 of them.
    const w = new Variable('w', op.zeros([128, 128]));
    const g = new Float32Array(w.size).map((_, i) => (i < 2048 ? 1 + i / 2048 : 1e-3 * Math.sin(i)));
    const optimizer = new MicroAdam([w], { lr: 0.01 });
    optimizer.applyGradients([op.tensor(g, w.shape)]);
    const kept = Array.from(optimizer.lastApplied(w).entries()).filter(([, v]) => v !== 0);
    expect(kept).toHaveLength(Math.ceil(0.01 * w.size));
    expect(kept.every(([i]) => i >= 2048 - 164 && i < 2048)).toBe(true);
  });
});

describe('AdamSNSM', () => {
  it("the SVD refresh finds the gradient's dominant subspace (power iteration)", () => {
    // G = 10·u1·v1ᵀ + 3·u2·v2ᵀ + noise (60 × 20): the top-2 right subspace is span(v1, v2).
    const random = new Random(5);
    const rows = 60;
    const cols = 20;
    const vec = (n: number) => {
      const x = Float64Array.from({ length: n }, () => random.normal());
      const norm = Math.hypot(...x);
      return x.map((v) => v / norm);
    };
    const [u1, u2, v1, v2] = [vec(rows), vec(rows), vec(cols), vec(cols)];
    const g = Float32Array.from({ length: rows * cols }, (_, k) => {
      const i = Math.floor(k / cols);
      const j = k % cols;
      return 10 * u1[i]! * v1[j]! + 3 * u2[i]! * v2[j]! + 1e-3 * random.normal();
    });
    const p = topSingularSubspace(g, rows, cols, 2, 'right', { iterations: 12 });
    for (const v of [v1, v2]) {
      // ‖Pᵀv‖ = 1 when v lies in the span of P's columns.
      const projected = [0, 1].map((k) => v.reduce((s, x, a) => s + x * p[a * 2 + k]!, 0));
      expect(Math.hypot(...projected)).toBeCloseTo(1, 5);
    }
  });

  it('keeps one second-moment value per slice of the larger dimension and momentum of rank r', () => {
    const w = new Variable('w', op.zeros([96, 32]));
    const b = new Variable('b', op.zeros([32]));
    const optimizer = new AdamSNSM([w, b], { lr: 0.01, rank: 8 });
    expect(optimizer.isProjected(w)).toBe(true);
    expect(optimizer.isProjected(b)).toBe(false);
    const shapes = Object.fromEntries(Object.entries(optimizer.stateDict().tensors).map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      'w.exp_avg': [96, 8],
      'w.exp_avg_sq': [96, 1],
      'w.projection': [32, 8],
      'b.exp_avg': [32],
      'b.exp_avg_sq': [32],
    });
    // About 1/8 of AdamW's state for this weight at rank 8 (= smaller dim / 4).
    expect((4 * (96 * 8 + 96 + 32 * 8)) / (8 * 96 * 32)).toBeLessThan(0.2);
  });

  it('learns the quadratic with every projection', () => {
    for (const projection of ['svd', 'rows', 'random'] as const) {
      const problem = quadratic(4, { name: `w-${projection}` });
      const start = problem.loss();
      minimize(problem, new AdamSNSM([problem.w], { lr: 0.05, projection, gap: 25 }), 100);
      expect(problem.loss()).toBeLessThan(start / 20);
    }
  });
});

describe('Grass', () => {
  it('samples rows ∝ norm² without replacement, weighted 1/√(r·q)', () => {
    const norms = Float32Array.from([0, 1, 4, 9, 16, 0, 25]);
    const { rows, weights } = selectRows(norms, 3, 'norm2', new Random(1));
    expect(rows).toHaveLength(3);
    expect(new Set(rows).size).toBe(3);
    for (const [k, row] of rows.entries()) {
      expect(norms[row]).toBeGreaterThan(0);
      expect(weights[k]).toBeCloseTo(1 / Math.sqrt(3 * (norms[row]! / 55)), 5);
    }
    const top = selectRows(norms, 2, 'top-norm', new Random(1));
    expect(Array.from(top.rows)).toEqual([4, 6]);
    expect(Array.from(top.weights)).toEqual([1, 1]);
    const uniform = selectRows(norms, 2, 'uniform', new Random(1));
    expect(Array.from(uniform.weights)).toEqual([Math.fround(Math.sqrt(7 / 2)), Math.fround(Math.sqrt(7 / 2))]);
  });

  it('updates only the selected rows (plus weight decay) and refreshes them every K steps', () => {
    const problem = quadratic(6, { rows: 16, cols: 8 });
    const before = problem.w.dataSync();
    const optimizer = new Grass([problem.w], { lr: 0.01, rank: 4, weightDecay: 0, refreshEvery: 2 });
    minimize(problem, optimizer, 1);
    const after = problem.w.dataSync();
    const changed = new Set<number>();
    for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) changed.add(Math.floor(i / 8));
    const rows = Array.from(optimizer.stateDict().tensors['w.rows']!.dataSync());
    expect([...changed].sort((a, b) => a - b)).toEqual(rows);
    // Top-norm rows of the first gradient: rows with the largest ‖c_i·w_i‖.
    const g = (problem.c.dataSync() as Float32Array).map((c, i) => 2 * c * before[i]!);
    const expected = Array.from(sliceNorms(g, 16, 8, true))
      .map((n, i) => [n, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 4)
      .map(([, i]) => i)
      .sort((a, b) => a - b);
    expect(rows).toEqual(expected);
  });

  it('learns the quadratic with every row selection', () => {
    for (const selection of ['top-norm', 'norm2', 'uniform'] as const) {
      const problem = quadratic(7, { name: `w-${selection}` });
      const start = problem.loss();
      minimize(problem, new Grass([problem.w], { lr: 0.05, selection, refreshEvery: 10 }), 100);
      expect(problem.loss()).toBeLessThan(start / 5);
    }
  });
});

describe('SGD', () => {
  it('matches the PyTorch update with momentum and Nesterov', () => {
    for (const nesterov of [false, true]) {
      const w = new Variable('w', op.tensor([1, -2, 0.5], [3]));
      const optimizer = new SGD([w], { lr: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 });
      const expected = [1, -2, 0.5];
      const buffer = [0, 0, 0];
      for (let s = 0; s < 5; s++) {
        tidy(() => optimizer.applyGradients(valueAndGrads(() => op.sum(op.square(w)), [w]).grads));
        for (let i = 0; i < 3; i++) {
          const g = 2 * expected[i]! + 0.01 * expected[i]!;
          buffer[i] = 0.9 * buffer[i]! + g;
          expected[i]! -= 0.1 * (nesterov ? g + 0.9 * buffer[i]! : buffer[i]!);
        }
      }
      for (const [i, v] of Array.from(w.dataSync()).entries()) expect(v).toBeCloseTo(expected[i]!, 5);
    }
  });
});
