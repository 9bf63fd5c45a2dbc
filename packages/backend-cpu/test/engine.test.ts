import { type Backend, ENGINE, keep, memory, op, setBackend, type Tensor, tidy, Variable } from '@octet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';

beforeAll(() => setBackend(createCpuBackend()));

describe('engine', () => {
  it('tidy frees everything but what it returns or keeps', () => {
    const before = memory().numTensors;
    let kept: Tensor | undefined;
    const result = tidy(() => {
      const a = op.tensor([1, 2, 3], [3]);
      const b = op.add(a, a);
      kept = keep(op.mul(b, b));
      return op.sum(b);
    });
    expect(memory().numTensors).toBe(before + 2); // the result and the kept tensor
    expect(result.dataSync()).toEqual(new Float32Array([12]));
    expect(kept!.dataSync()).toEqual(new Float32Array([4, 16, 36]));
  });

  it('reshape shares storage; storage is freed with its last tensor', () => {
    const before = memory();
    const a = op.tensor(new Float32Array(1000), [10, 100]);
    const b = op.reshape(a, [100, 10]);
    expect(memory().numDataBuffers).toBe(before.numDataBuffers + 1);
    expect(memory().numBytes).toBe(before.numBytes + 4000);
    a.dispose();
    expect(memory().numBytes).toBe(before.numBytes + 4000);
    b.dispose();
    expect(memory().numBytes).toBe(before.numBytes);
  });

  it('a Variable keeps its value across tidy and releases the old value on assign', () => {
    const v = tidy(() => new Variable('w', op.tensor([1, 2], [2])));
    const bytes = memory().numBytes;
    tidy(() => v.assign(op.tensor([3, 4], [2])));
    expect(v.dataSync()).toEqual(new Float32Array([3, 4]));
    expect(memory().numBytes).toBe(bytes);
    expect(() => v.assign(op.tensor([1, 2, 3], [3]))).toThrow(/new value of variable w: got "float32 \[3\]"; allowed: float32 \[2\]/);
  });

  it('using a disposed tensor is an error naming the tensor', () => {
    const a = op.tensor([1], [1]);
    a.dispose();
    expect(() => op.add(a, a)).toThrow(/input of Binary: Tensor\(float32, \[1\]\) was already disposed/);
  });

  it('a missing kernel names the kernel and the backend', () => {
    const partial: Backend = { ...createCpuBackend(), name: 'partial', kernels: new Map() } as unknown as Backend;
    const full = ENGINE.backend;
    setBackend(partial);
    try {
      expect(() => op.fill([1], 0)).toThrow('kernel Fill is not implemented by backend partial');
    } finally {
      setBackend(full);
    }
  });

  it('two backends in one process: storage is freed and read by the backend that holds it, and mixing them is an error', async () => {
    const home = ENGINE.backend;
    const other = createCpuBackend({ threads: 1 });
    const freedOnOther: unknown[] = [];
    other.disposeData = (dataId) => freedOnOther.push(dataId);
    try {
      setBackend(other);
      const away = op.tensor([1, 2, 3], [3]);
      setBackend(home);
      const here = op.tensor([1, 2, 3], [3]);
      expect(() => op.add(away, here)).toThrow(/input of Binary: the tensor lives on backend cpu, but the active backend is cpu/);
      expect(await away.data()).toEqual(new Float32Array([1, 2, 3]));
      away.dispose(); // with `home` active: still freed on `other`
      expect(freedOnOther).toEqual([away.dataId]);
      here.dispose();
    } finally {
      setBackend(home);
    }
  });

  it('bad shapes get errors naming the argument', () => {
    expect(() => op.tensor([1, 2, 3], [2, 2])).toThrow(/values: got "3 values"; allowed: 4 values for shape \[2, 2\]/);
    expect(() => op.matMul(op.zeros([2, 3]), op.zeros([4, 5]))).toThrow(/matMul: inner dimensions/);
    expect(() => op.reshape(op.zeros([2, 3]), [4])).toThrow(/reshape: shape/);
  });
});

describe('threads', () => {
  it('a matmul split across threads equals the single-threaded one exactly', () => {
    const threaded = createCpuBackend({ threads: 3 });
    const single = createCpuBackend({ threads: 1 });
    expect(threaded.threads).toBe(3);
    const run = (backend: ReturnType<typeof createCpuBackend>) => {
      setBackend(backend);
      const a = op.randomNormal([3, 67, 45], { seed: 1 });
      const b = op.randomNormal([3, 45, 129], { seed: 2 });
      const shared = op.randomNormal([45, 129], { seed: 3 });
      // The very first GEMM and a later one outgrow the shared buffer, so the workers must follow it to new memory.
      const big = op.randomNormal([300, 300], { seed: 4 });
      const bigger = op.randomNormal([2, 400, 400], { seed: 5 });
      return [
        op.matMul(big, big).dataSync(),
        op.matMul(a, b).dataSync(),
        op.matMul(a, shared).dataSync(),
        op.matMul(b, a, true, true).dataSync(),
        op.matMul(big, big).dataSync(),
        op.matMul(bigger, bigger, false, true).dataSync(),
      ];
    };
    const expected = run(single);
    const actual = run(threaded);
    setBackend(createCpuBackend());
    expect(actual).toEqual(expected);
  });
});
