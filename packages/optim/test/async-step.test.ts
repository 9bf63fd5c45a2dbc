import { createCpuBackend, createReferenceBackend } from '@octet/backend-cpu';
import { type Backend, type DataId, dispose, memory, op, setBackend, type Tensor, tidy, Variable } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { AdamSNSM, AdamW, Grass, MicroAdam, type Optimizer, type OptimizerState } from '../src/index.js';

/**
 * The CPU reference backend without `readSync`, reading as a GPU does: `read` resolves on a later
 * task, and storage freed before then fails the read (a step must keep what it reads alive).
 */
function withoutSynchronousRead(inner: Backend): Backend {
  const freed = new WeakSet<DataId>();
  return {
    name: 'cpu-without-sync-read',
    write: (values, shape, dtype) => inner.write(values, shape, dtype),
    read: async (info) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (freed.has(info.dataId)) throw new Error('read of storage freed before the read completed');
      return inner.read(info);
    },
    disposeData: (dataId) => {
      freed.add(dataId);
      inner.disposeData(dataId);
    },
    memoryBytes: () => inner.memoryBytes(),
    kernels: inner.kernels,
  };
}

/** A tall and a wide 2-D weight (projected by AdamSNSM and Grass) and a 1-D one (AdamW there). */
const SHAPES: Record<string, number[]> = { tall: [48, 20], wide: [12, 40], bias: [30] };

function makeParams(): Variable[] {
  return Object.entries(SHAPES).map(([name, shape], i) => {
    const initial = op.randomNormal(shape, { seed: 100 + i });
    const p = new Variable(name, initial);
    initial.dispose();
    return p;
  });
}

/** The gradients of step `step`: fixed random tensors, the same for every run. */
function gradients(step: number): Tensor[] {
  return Object.values(SHAPES).map((shape, i) => op.randomNormal(shape, { seed: 1000 * step + i }));
}

/** Small windows and refresh intervals, so that five steps wrap MicroAdam's window and refresh three times. */
const OPTIMIZERS: Record<string, (params: Variable[]) => Optimizer> = {
  microadam: (p) => new MicroAdam(p, { lr: 0.01, window: 3, density: 0.05 }),
  'microadam (f32 error and values)': (p) =>
    new MicroAdam(p, { lr: 0.01, window: 3, density: 0.05, valueFormat: 'f32', errorFormat: 'f32' }),
  'adam-snsm': (p) => new AdamSNSM(p, { lr: 0.01, gap: 2 }),
  'adam-snsm (rows)': (p) => new AdamSNSM(p, { lr: 0.01, gap: 2, projection: 'rows' }),
  grass: (p) => new Grass(p, { lr: 0.01, refreshEvery: 2 }),
  'grass (norm2)': (p) => new Grass(p, { lr: 0.01, refreshEvery: 2, selection: 'norm2' }),
  adamw: (p) => new AdamW(p, { lr: 0.01 }),
};
const STEPS = 5;

/** Every byte of a tensor's values. */
async function bytesOf(t: Tensor): Promise<Uint8Array> {
  const values = await t.data();
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

interface RunResult {
  step: number;
  params: Record<string, Uint8Array>;
  state: Record<string, Uint8Array>;
}

async function snapshot(optimizer: Optimizer): Promise<RunResult> {
  const params: Record<string, Uint8Array> = {};
  for (const p of optimizer.params()) params[p.name] = await bytesOf(p);
  const dict = optimizer.stateDict();
  const state: Record<string, Uint8Array> = {};
  for (const [name, t] of Object.entries(dict.tensors)) state[name] = await bytesOf(t);
  return { step: dict.step, params, state };
}

/** `STEPS` steps of a fresh optimizer on fresh parameters, on the active backend. */
async function run(make: (params: Variable[]) => Optimizer, method: 'sync' | 'async'): Promise<RunResult> {
  const params = makeParams();
  const optimizer = make(params);
  for (let step = 1; step <= STEPS; step++) {
    const grads = gradients(step);
    if (method === 'sync') optimizer.applyGradients(grads);
    else await optimizer.applyGradientsAsync(grads);
    dispose(grads);
  }
  const result = await snapshot(optimizer);
  optimizer.dispose();
  dispose(params);
  return result;
}

describe('applyGradientsAsync', () => {
  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: equals applyGradients bit for bit on the CPU backend (parameters and state)`, async () => {
      setBackend(createCpuBackend({ threads: 1 }));
      const sync = await run(make, 'sync');
      const async = await run(make, 'async');
      expect(async.step).toBe(STEPS);
      expect(Object.keys(async.state).length).toBeGreaterThan(0);
      expect(async).toEqual(sync);
      // The steps moved the parameters (the comparison above is not between untouched ones).
      setBackend(createCpuBackend({ threads: 1 }));
      const initial = makeParams();
      expect(await bytesOf(initial[0]!)).not.toEqual(async.params.tall);
      dispose(initial);
    });
  }

  for (const name of ['microadam', 'adam-snsm', 'adam-snsm (rows)', 'grass', 'grass (norm2)']) {
    const make = OPTIMIZERS[name]!;
    it(`${name}: steps on a backend without synchronous reads as on the CPU; applyGradients there fails naming the way out`, async () => {
      setBackend(createReferenceBackend());
      const reference = await run(make, 'sync');
      setBackend(withoutSynchronousRead(createReferenceBackend()));
      expect(await run(make, 'async')).toEqual(reference);

      const params = makeParams();
      const optimizer = make(params);
      const grads = gradients(1);
      const label = optimizer.constructor.name;
      expect(() => optimizer.applyGradients(grads)).toThrow(
        new RegExp(
          `^${label}\\.applyGradients: backend cpu-without-sync-read has no synchronous read, and this step reads tall \\w+.* on the host; use await applyGradientsAsync\\(grads\\)`,
        ),
      );
      // It failed before the step started: nothing moved.
      expect(optimizer.step).toBe(0);
      const untouched = makeParams();
      for (const [i, p] of params.entries()) expect(await bytesOf(p)).toEqual(await bytesOf(untouched[i]!));
      dispose([grads, params, untouched]);
      optimizer.dispose();
    });
  }

  it('AdamW needs no host reads: applyGradients works on a backend without synchronous reads', async () => {
    setBackend(withoutSynchronousRead(createReferenceBackend()));
    const sync = await run(OPTIMIZERS.adamw!, 'sync');
    expect(sync.step).toBe(STEPS);
    expect(await run(OPTIMIZERS.adamw!, 'async')).toEqual(sync);
  });

  it('leaves no tensors behind, also for the row norms Grass computes to read them (inside a tidy or not)', async () => {
    setBackend(withoutSynchronousRead(createReferenceBackend()));
    const params = makeParams();
    const optimizer = new Grass(params, { lr: 0.01, refreshEvery: 1 }); // every step refreshes
    const before = memory().numTensors;
    for (let step = 1; step <= 3; step++) {
      const grads = gradients(step);
      // A tidy ends before the reads are back: the tensors the step reads must outlive it.
      if (step === 2) await tidy(() => optimizer.applyGradientsAsync(grads));
      else await optimizer.applyGradientsAsync(grads);
      dispose(grads);
      expect(memory().numTensors).toBe(before);
    }
    optimizer.dispose();
    dispose(params);
  });

  it('refuses a second step while one is still reading', async () => {
    setBackend(withoutSynchronousRead(createReferenceBackend()));
    const params = makeParams();
    const optimizer = new MicroAdam(params, { lr: 0.01 });
    const grads = gradients(1);
    const first = optimizer.applyGradientsAsync(grads);
    await expect(optimizer.applyGradientsAsync(grads)).rejects.toThrow(/^MicroAdam: a step is still running; await applyGradientsAsync/);
    await first;
    expect(optimizer.step).toBe(1);
    dispose(grads);
    optimizer.dispose();
  });
});

describe('loadStateDict converts saved float32 state back to uint8 and int32 on the device', () => {
  // MicroAdam holds uint8 codes (window offsets and values, the 4-bit error); AdamSNSM 'rows' and Grass hold int32 indices.
  for (const name of ['microadam', 'adam-snsm (rows)', 'grass']) {
    const make = OPTIMIZERS[name]!;
    for (const [where, backend] of [
      ['the CPU backend', () => createCpuBackend({ threads: 1 })],
      ['a backend without synchronous reads', () => withoutSynchronousRead(createReferenceBackend())],
    ] as const) {
      it(`${name} on ${where}: the loaded state equals the saved one bit for bit and resumes the same`, async () => {
        setBackend(backend());
        const trained = make(makeParams());
        for (let step = 1; step <= 3; step++) {
          const grads = gradients(step);
          await trained.applyGradientsAsync(grads);
          dispose(grads);
        }
        const fresh = make(makeParams());
        for (const [i, p] of fresh.params().entries()) p.assign(trained.params()[i]!); // the same weights
        const saved = trained.stateDict(); // float32 copies of the narrower state, held by `trained`
        const before = memory().numTensors;
        fresh.loadStateDict(saved);
        expect(memory().numTensors).toBe(before); // the converted tensors went once the slots held them
        expect(fresh.stateBytes()).toBe(trained.stateBytes()); // back in the narrow dtypes
        expect(await snapshot(fresh)).toEqual(await snapshot(trained));
        const grads = gradients(4);
        await trained.applyGradientsAsync(grads);
        await fresh.applyGradientsAsync(grads);
        expect(await snapshot(fresh)).toEqual(await snapshot(trained));
        dispose(grads);
        dispose([...trained.params(), ...fresh.params()]);
        trained.dispose();
        fresh.dispose();
      });
    }
  }

  it('checks the values where the backend reads synchronously, naming the tensor', () => {
    setBackend(createCpuBackend({ threads: 1 }));
    const optimizer = new Grass(makeParams(), { lr: 0.01 });
    const dict = optimizer.stateDict();
    const rows = dict.tensors['tall.rows']!;
    const bad: OptimizerState = { ...dict, tensors: { ...dict.tensors, 'tall.rows': op.fill(rows.shape, 2.5) } };
    expect(() => optimizer.loadStateDict(bad)).toThrow(
      /^Grass state tall\.rows: got 2\.5; allowed: integers in \[-2147483648, 2147483647\] \(int32 values\)/,
    );
    const micro = new MicroAdam(makeParams(), { lr: 0.01 });
    const microDict = micro.stateDict();
    const error = microDict.tensors['tall.error']!;
    const outOfRange: OptimizerState = { ...microDict, tensors: { ...microDict.tensors, 'tall.error': op.fill(error.shape, 256) } };
    expect(() => micro.loadStateDict(outOfRange)).toThrow(
      /^MicroAdam state tall\.error: got 256; allowed: integers in \[0, 255\] \(uint8 values\)/,
    );
  });
});
