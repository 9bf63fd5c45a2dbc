import { createCpuBackend } from '@octet/backend-cpu';
import { memory, op, setBackend, tidy, Variable, valueAndGrads } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdamSNSM,
  AdamW,
  AdamW4bit,
  AdamW8bit,
  AdamWFp8,
  createOptimizer,
  Grass,
  MicroAdam,
  OPTIMIZER_NAMES,
  type Optimizer,
  type ParamGroup,
  SGD,
} from '../src/index.js';
import { copyState } from './quadratic.js';

beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

/** Shapes that exercise every rule: large 2-D (wide and tall), small 2-D, small 1-D, a 1-D tensor of exactly 4096. */
const SHAPES: Record<string, number[]> = { wide: [64, 128], tall: [160, 32], small: [10, 3], bias: [300], long: [4096] };
const sizes = Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, s.reduce((a, b) => a * b, 1)]));
const ceil = Math.ceil;
const f32 = (n: number) => 8 * n; // AdamW: m and v in f32

function params(seed = 0): Variable[] {
  return Object.entries(SHAPES).map(([name, shape], i) => {
    const initial = op.randomNormal(shape, { seed: seed * 10 + i });
    const p = new Variable(name, initial);
    initial.dispose(); // so that the engine's byte count after an update is the parameters' and the optimizer's only
    return p;
  });
}

/** Every optimizer of the package, as used in these tests (small windows/gaps so that refreshes happen). */
const FACTORIES: Record<string, (p: Variable[] | ParamGroup[]) => Optimizer> = {
  adamw: (p) => new AdamW(p, { lr: 0.01 }),
  sgd: (p) => new SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true }),
  adamw8bit: (p) => new AdamW8bit(p, { lr: 0.01 }),
  'adamw-fp8': (p) => new AdamWFp8(p, { lr: 0.01 }),
  'adamw-fp8 (no expansion)': (p) => new AdamWFp8(p, { lr: 0.01, expansion: false }),
  adamw4bit: (p) => new AdamW4bit(p, { lr: 0.01 }),
  'adamw4bit (rank1-linear m)': (p) => new AdamW4bit(p, { lr: 0.01, firstMoment: 'rank1-linear' }),
  microadam: (p) => new MicroAdam(p, { lr: 0.01, window: 4 }),
  'adam-snsm': (p) => new AdamSNSM(p, { lr: 0.01, gap: 3 }),
  'adam-snsm (rows)': (p) => new AdamSNSM(p, { lr: 0.01, gap: 3, projection: 'rows' }),
  grass: (p) => new Grass(p, { lr: 0.01, refreshEvery: 3, selection: 'norm2' }),
};

/** A loss touching every parameter with different curvatures. */
function step(optimizer: Optimizer) {
  tidy(() => {
    const ps = optimizer.params();
    const { grads } = valueAndGrads(
      () => ps.map((p, i) => op.sum(op.mul(op.square(op.addScalar(p, 0.3 * i)), op.scalar(1 + i)))).reduce((a, b) => op.add(a, b)),
      ps,
    );
    optimizer.applyGradients(grads);
  });
}

describe('stateBytes: exact bytes of the state held', () => {
  const expected: Record<string, number> = {
    adamw: f32(sizes.wide! + sizes.tall! + sizes.small! + sizes.bias! + sizes.long!),
    sgd: 4 * (sizes.wide! + sizes.tall! + sizes.small! + sizes.bias! + sizes.long!),
    // ≥ 4096 elements: 1-byte codes for m and v + an f32 absmax per block of 256 for each; others f32.
    adamw8bit:
      [sizes.wide!, sizes.tall!, sizes.long!].reduce((n, s) => n + 2 * s + 2 * 4 * ceil(s / 256), 0) + f32(sizes.small! + sizes.bias!),
    // Every tensor: e4m3 m and v + (s, k, c) in f32 per group of 128 for each.
    'adamw-fp8': Object.values(sizes).reduce((n, s) => n + 2 * s + 2 * 3 * 4 * ceil(s / 128), 0),
    'adamw-fp8 (no expansion)': Object.values(sizes).reduce((n, s) => n + 2 * s + 2 * 4 * ceil(s / 128), 0),
    // > 4096 elements and 2-D: m packed 4-bit + absmax per 128; v packed 4-bit + row and column maxima.
    adamw4bit:
      [SHAPES.wide!, SHAPES.tall!].reduce(
        (n, [r, c]) => n + ceil((r! * c!) / 2) + 4 * ceil((r! * c!) / 128) + ceil((r! * c!) / 2) + 4 * (r! + c!),
        0,
      ) + f32(sizes.small! + sizes.bias! + sizes.long!),
    // The same with m held like v: packed 4-bit + row and column maxima.
    'adamw4bit (rank1-linear m)':
      [SHAPES.wide!, SHAPES.tall!].reduce((n, [r, c]) => n + 2 * (ceil((r! * c!) / 2) + 4 * (r! + c!)), 0) +
      f32(sizes.small! + sizes.bias! + sizes.long!),
  };
  // MicroAdam (window 4, 1%, blocks of 20864): window = 4 rows × k × (2 B offset + 2 B bf16); error 4-bit + min/max f32 per 128.
  const k = (n: number) => {
    let total = 0;
    for (let s = 0; s < n; s += 20864) total += Math.max(1, ceil(Math.min(20864, n - s) * 0.01));
    return total;
  };
  expected.microadam = Object.values(sizes).reduce((n, s) => n + 4 * k(s) * 4 + ceil(s / 2) + 8 * ceil(s / 128), 0);
  // AdamSNSM on 2-D weights (rank ⌈small/4⌉): momentum (large × r), one v per slice of the large dimension, P (small × r) or r indices.
  const snsm = (projectionBytes: (small: number, r: number) => number) =>
    [SHAPES.wide!, SHAPES.tall!, SHAPES.small!].reduce((n, [rows, cols]) => {
      const small = Math.min(rows!, cols!);
      const large = Math.max(rows!, cols!);
      const r = ceil(small / 4);
      return n + 4 * large * r + 4 * large + projectionBytes(small, r);
    }, 0) + f32(sizes.bias! + sizes.long!);
  expected['adam-snsm'] = snsm((small, r) => 4 * small * r);
  expected['adam-snsm (rows)'] = snsm((_, r) => 4 * r);
  // Grass on 2-D weights (⌈rows/4⌉ rows): m and v of (r × cols) + r int32 rows + r f32 weights.
  expected.grass =
    [SHAPES.wide!, SHAPES.tall!, SHAPES.small!].reduce((n, [rows, cols]) => n + 8 * ceil(rows! / 4) * cols! + 8 * ceil(rows! / 4), 0) +
    f32(sizes.bias! + sizes.long!);

  for (const [name, make] of Object.entries(FACTORIES)) {
    it(`${name}: ${expected[name]} bytes, and the engine holds exactly that`, () => {
      const ps = params();
      const before = memory().numBytes;
      const optimizer = make(ps);
      expect(optimizer.stateBytes()).toBe(expected[name]);
      expect(memory().numBytes - before).toBe(expected[name]);
      step(optimizer);
      step(optimizer);
      expect(optimizer.stateBytes()).toBe(expected[name]);
      expect(memory().numBytes - before).toBe(expected[name]);
      optimizer.dispose();
      for (const p of ps) p.dispose();
    });
  }

  it('AdamW8bit is ≈ 2.03 bytes per parameter on large tensors', () => {
    const w = new Variable('w', op.zeros([1024, 1024]));
    expect(new AdamW8bit([w], { lr: 1 }).stateBytes() / w.size).toBeCloseTo(2.03125, 5);
    expect(new AdamW4bit([w], { lr: 1 }).stateBytes() / w.size).toBeCloseTo(1 + 4 / 128 + 8 / 1024, 5);
    expect(new AdamWFp8([w], { lr: 1 }).stateBytes() / w.size).toBeCloseTo(2 + 24 / 128, 5);
  });
});

describe('checkpoints', () => {
  for (const [name, make] of Object.entries(FACTORIES)) {
    it(`${name}: save and load resumes bit-identically`, () => {
      const straight = params(1);
      const a = make(straight);
      for (let i = 0; i < 8; i++) step(a);

      const resumed = params(1);
      const b = make(resumed);
      for (let i = 0; i < 4; i++) step(b);
      const saved = copyState(b.stateDict()); // through host f32 arrays, as a checkpoint
      b.dispose();
      const c = make(resumed);
      c.loadStateDict(saved);
      expect(c.step).toBe(4);
      for (let i = 0; i < 4; i++) step(c);
      for (const [i, p] of resumed.entries()) expect(p.dataSync()).toEqual(straight[i]!.dataSync());
    });
  }
});

describe('bad inputs are named', () => {
  const w = () => [new Variable('w', op.zeros([64, 128]))];
  const classes = { AdamW8bit, AdamWFp8, AdamW4bit, MicroAdam, AdamSNSM, Grass } as const;

  it('rejects lr ≤ 0, betas outside [0, 1) and eps ≤ 0 in every Adam variant, naming the field and range', () => {
    for (const [label, Class] of Object.entries(classes)) {
      expect(() => new Class(w(), { lr: 0 })).toThrow(new RegExp(`${label} lr: got 0; allowed: a number > 0`));
      expect(() => new Class(w(), { lr: -1 })).toThrow(new RegExp(`${label} lr: got -1`));
      expect(() => new Class(w(), { lr: 1, betas: [0.9, 1] })).toThrow(
        new RegExp(`${label} betas: got \\[0.9, 1\\]; allowed: two numbers in \\[0, 1\\)`),
      );
      expect(() => new Class(w(), { lr: 1, betas: [-0.1, 0.9] })).toThrow(new RegExp(`${label} betas`));
      expect(() => new Class(w(), { lr: 1, eps: 0 })).toThrow(new RegExp(`${label} eps: got 0; allowed: a number > 0`));
      expect(() => new Class(w(), { lr: 1, weightDecay: -1 })).toThrow(new RegExp(`${label} weightDecay`));
    }
    expect(() => new SGD(w(), { lr: 0 })).toThrow(/SGD lr: got 0; allowed: a number > 0/);
    expect(() => new SGD(w(), { lr: 1, momentum: 1 })).toThrow(/SGD momentum: got 1; allowed: a number in \[0, 1\)/);
    expect(() => new SGD(w(), { lr: 1, momentum: 0, nesterov: true })).toThrow(/SGD nesterov/);
  });

  it('rejects bad codec and projection settings', () => {
    expect(() => new AdamW8bit(w(), { lr: 1, blockSize: 0 })).toThrow(/AdamW8bit blockSize: got 0; allowed: an integer ≥ 1/);
    expect(() => new AdamWFp8(w(), { lr: 1, groupSize: 1.5 })).toThrow(/AdamWFp8 groupSize/);
    expect(() => new AdamW4bit(w(), { lr: 1, firstMoment: 'rank1' as never })).toThrow(
      /AdamW4bit firstMoment: got "rank1"; allowed: 'blockwise' or 'rank1-linear'/,
    );
    expect(() => new MicroAdam(w(), { lr: 1, density: 0 })).toThrow(/MicroAdam density: got 0; allowed: a number in \(0, 1\]/);
    expect(() => new MicroAdam(w(), { lr: 1, blockSize: 70000 })).toThrow(
      /MicroAdam blockSize: got 70000; allowed: an integer in \[1, 65536\]/,
    );
    expect(() => new AdamSNSM(w(), { lr: 1, projection: 'qr' as never })).toThrow(/AdamSNSM projection: got "qr"/);
    expect(() => new AdamSNSM(w(), { lr: 1, gap: 0 })).toThrow(/AdamSNSM gap/);
    expect(() => new Grass(w(), { lr: 1, selection: 'all' as never })).toThrow(/Grass selection: got "all"/);
    expect(() => createOptimizer('lion', w(), { lr: 1 })).toThrow(/optimizer: got "lion"; allowed: adamw, adamw8bit, adamw-fp8/);
    expect(OPTIMIZER_NAMES).toEqual(['adamw', 'adamw8bit', 'adamw-fp8', 'adamw4bit', 'microadam', 'adam-snsm', 'grass']);
  });

  it('rejects gradients that do not match the parameters', () => {
    const optimizer = new AdamW8bit(w(), { lr: 1 });
    expect(() => optimizer.applyGradients([])).toThrow(/AdamW8bit gradients: got "0 tensors"; allowed: 1 \(one per parameter\)/);
    expect(() => optimizer.applyGradients([op.zeros([128, 64])])).toThrow(/AdamW8bit gradient of w: got "shape \[128, 64\]"/);
  });

  it('names the field of a state dict that does not match the parameters', () => {
    const optimizer = new AdamW8bit(w(), { lr: 1 });
    const good = optimizer.stateDict();
    const { 'w.exp_avg.codes': _dropped, ...missing } = good.tensors;
    expect(() => optimizer.loadStateDict({ ...good, tensors: missing })).toThrow(/AdamW8bit state: got "no tensor w.exp_avg.codes"/);
    expect(() => optimizer.loadStateDict({ ...good, tensors: { ...good.tensors, 'w.exp_avg.absmax': op.zeros([3]) } })).toThrow(
      /AdamW8bit state w.exp_avg.absmax: got "shape \[3\]"; allowed: \[32\]/,
    );
    expect(() => optimizer.loadStateDict({ ...good, tensors: { ...good.tensors, 'v.exp_avg': op.zeros([3]) } })).toThrow(
      /AdamW8bit state: got "an unexpected tensor v.exp_avg"/,
    );
    expect(() => optimizer.loadStateDict({ ...good, scalars: { ...good.scalars, blockSize: 128 } })).toThrow(
      /AdamW8bit state scalars.blockSize: got 128; allowed: 256/,
    );
    const blockwise4bit = new AdamW4bit(w(), { lr: 1 }).stateDict();
    expect(() => new AdamW4bit(w(), { lr: 1, firstMoment: 'rank1-linear' }).loadStateDict(blockwise4bit)).toThrow(
      /AdamW4bit state scalars.firstMoment: got "blockwise"; allowed: "rank1-linear"/,
    );
    expect(() => optimizer.loadStateDict({ ...good, scalars: { optimizer: 'adamw4bit' } })).toThrow(
      /AdamW8bit state scalars.optimizer: got "adamw4bit"/,
    );
    expect(() => optimizer.loadStateDict({ ...good, tensors: { ...good.tensors, 'w.exp_avg.codes': op.fill([8192], 300) } })).toThrow(
      /AdamW8bit state w.exp_avg.codes: got 300; allowed: integers in \[0, 255\]/,
    );
    // An AdamW checkpoint into a compressed optimizer: its optimizer scalar is named, or without
    // scalars (an older checkpoint) the first tensor that does not fit.
    const adamw = new AdamW(w(), { lr: 1 }).stateDict();
    expect(() => optimizer.loadStateDict(adamw)).toThrow(/AdamW8bit state scalars.optimizer: got "adamw"; allowed: "adamw8bit"/);
    expect(() => optimizer.loadStateDict({ ...adamw, scalars: undefined })).toThrow(
      /AdamW8bit state: got "an unexpected tensor w.exp_avg"/,
    );
  });
});
