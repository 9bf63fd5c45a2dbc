// Freed f32 storage is handed to the next output of the same length. Kernels that skip clearing it
// must write every element; those that leave zeros (a causal softmax) must still get cleared storage.
import {
  Affine,
  Binary,
  Concat,
  Gather,
  GeluGrad,
  type KernelName,
  MatMul,
  Rope,
  Slice,
  Softmax,
  type TensorInfo,
  Transpose,
  Unary,
} from '@octet/core';
import { describe, expect, it } from 'vitest';
import { RECYCLED_BYTES_LIMIT } from '../src/base.js';
import { type CpuBackend, createCpuBackend, createReferenceBackend } from '../src/index.js';

function run(backend: CpuBackend, kernel: KernelName, inputs: Record<string, TensorInfo | TensorInfo[]>, attrs: object = {}): Float32Array {
  const out = backend.kernels.get(kernel)!({ inputs, attrs, backend } as never);
  return backend.readSync(out) as Float32Array;
}

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 4);

describe.each([
  ['fast', () => createCpuBackend({ threads: 1, minWasmWork: 0 })],
  ['reference', createReferenceBackend],
] as const)('%s kernels on recycled storage', (_, create) => {
  const backend = create();
  const f32 = (shape: number[]) => backend.write(ramp(shape.reduce((p, d) => p * d, 1)), shape, 'float32');
  /** Leaves NaN-filled storage for `length` floats (a kernel's output, freed) waiting to be recycled into the next output. */
  const poison = (length: number) => {
    const nan = backend.write(new Float32Array(length).fill(Number.NaN), [length], 'float32');
    const out = backend.kernels.get(Affine)!({ inputs: { x: nan }, attrs: { scale: 1, shift: 0 }, backend } as never) as TensorInfo;
    backend.disposeData(out.dataId);
  };

  const cases: [string, number, () => Float32Array][] = [
    ['Affine', 24, () => run(backend, Affine, { x: f32([4, 6]) }, { scale: 2, shift: 1 })],
    ['Unary exp', 24, () => run(backend, Unary, { x: f32([4, 6]) }, { op: 'exp' })],
    ['Unary gelu', 24, () => run(backend, Unary, { x: f32([4, 6]) }, { op: 'gelu' })],
    ['Unary abs', 24, () => run(backend, Unary, { x: f32([4, 6]) }, { op: 'abs' })],
    ['GeluGrad', 24, () => run(backend, GeluGrad, { dy: f32([4, 6]), x: f32([4, 6]) })],
    ['Binary add, broadcast', 24, () => run(backend, Binary, { a: f32([4, 1]), b: f32([1, 6]) }, { op: 'add' })],
    ['Binary maximum', 24, () => run(backend, Binary, { a: f32([4, 6]), b: f32([6]) }, { op: 'maximum' })],
    ['Concat', 24, () => run(backend, Concat, { xs: [f32([4, 2]), f32([4, 4])] }, { axis: 1 })],
    ['Transpose', 24, () => run(backend, Transpose, { x: f32([2, 3, 4]) }, { perm: [2, 0, 1] })],
    ['Slice', 24, () => run(backend, Slice, { x: f32([5, 7]) }, { begin: [1, 1], size: [4, 6] })],
    ['Gather', 24, () => run(backend, Gather, { table: f32([5, 6]), indices: backend.write(Int32Array.of(4, 0, 2, 2), [4], 'int32') })],
    ['Rope', 32, () => run(backend, Rope, { x: f32([1, 2, 4, 4]) }, { base: 10000, offset: 3, inverse: false })],
    ['MatMul', 24, () => run(backend, MatMul, { a: f32([4, 5]), b: f32([5, 6]) }, { transposeA: false, transposeB: false })],
    // Large enough for the fast backend's WASM elementwise kernels and softmax.
    ['Affine, large', 16640, () => run(backend, Affine, { x: f32([128, 130]) }, { scale: 2, shift: 1 })],
    ['Unary square, large', 16640, () => run(backend, Unary, { x: f32([128, 130]) }, { op: 'square' })],
    ['Binary mul by a row, large', 16640, () => run(backend, Binary, { a: f32([128, 130]), b: f32([130]) }, { op: 'mul' })],
    ['Softmax, causal, large', 16384, () => run(backend, Softmax, { x: f32([4, 64, 64]) }, { causal: true })],
  ];
  it.each(cases)('%s writes every element', (_, length, compute) => {
    poison(length);
    const out = compute();
    expect(out.length).toBe(length);
    expect(out.filter(Number.isNaN).length).toBe(0);
  });

  it('storage of a length that changes every step is reused through size classes', () => {
    const affine = (length: number) =>
      backend.kernels.get(Affine)!({ inputs: { x: f32([length]) }, attrs: { scale: 1, shift: 0 }, backend } as never) as TensorInfo;
    const first = affine(5000);
    const storage = (info: TensorInfo) => (info.dataId as { values: Float32Array }).values;
    const buffer = storage(first).buffer;
    expect(buffer.byteLength).toBe(5120 * 4); // the class above 5000: 4096 + 1024
    backend.disposeData(first.dataId);
    const second = affine(5100);
    expect(storage(second).buffer).toBe(buffer);
    expect(backend.readSync(second)).toEqual(ramp(5100));
    poison(5050);
    expect(run(backend, Transpose, { x: f32([41, 122]) }, { perm: [1, 0] }).filter(Number.isNaN).length).toBe(0);
  });

  it('storage freed long ago makes room for newer storage once the pool is full', () => {
    const affine = (length: number) =>
      backend.kernels.get(Affine)!({ inputs: { x: f32([length]) }, attrs: { scale: 1, shift: 0 }, backend } as never) as TensorInfo;
    const storage = (info: TensorInfo) => (info.dataId as { values: Float32Array }).values;
    // More MiB of one size than the pool holds, then another size.
    const large = Array.from({ length: RECYCLED_BYTES_LIMIT / 2 ** 20 + 16 }, () => affine(1 << 18));
    for (const t of large) backend.disposeData(t.dataId);
    const small = affine(6000);
    const buffer = storage(small).buffer;
    backend.disposeData(small.dataId);
    expect(storage(affine(6100)).buffer).toBe(buffer);
  });

  it('a causal Softmax leaves zeros where a query may not look', () => {
    poison(16);
    const out = run(backend, Softmax, { x: f32([1, 4, 4]) }, { causal: true });
    expect(out.filter(Number.isNaN).length).toBe(0);
    expect([out[1], out[2], out[3], out[6], out[7], out[11]]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
