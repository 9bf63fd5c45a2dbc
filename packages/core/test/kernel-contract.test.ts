// The kernel contract as types: one map from kernel name to inputs and attributes types the
// engine's runKernel and the backends' kernels. The @ts-expect-error lines are checked by the
// typecheck: each fails it if the contract stops rejecting the mistake.
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  defineKernel,
  ENGINE,
  Fill,
  KERNEL_NAMES,
  kernelTable,
  MatMul,
  ScaledMatMul,
  setBackend,
  type Tensor,
  type TensorInfo,
} from '../src/index.js';

/** A backend with one kernel, Fill, whose storage is nothing but the shape. */
function fillOnlyBackend(): Backend {
  const fill = defineKernel(Fill, ({ attrs: { shape, dtype } }): TensorInfo => ({ dataId: {}, shape, dtype }));
  return {
    name: 'fill-only',
    write: () => {
      throw new Error('not needed');
    },
    read: async () => new Float32Array(0),
    disposeData: () => {},
    memoryBytes: () => 0,
    kernels: kernelTable([fill]),
  };
}

export function mistakesTheContractRejects(t: Tensor): void {
  // @ts-expect-error MatMul has no input `bb`
  ENGINE.runKernel(MatMul, { a: t, bb: t }, { transposeA: false, transposeB: false });
  // @ts-expect-error a misspelt attribute
  ENGINE.runKernel(MatMul, { a: t, b: t }, { transposeA: false, transposB: false });
  // @ts-expect-error MatMul's attributes are required
  ENGINE.runKernel(MatMul, { a: t, b: t });
  // @ts-expect-error ScaledMatMul has no input `bScal`
  defineKernel(ScaledMatMul, ({ inputs: { bScal } }) => bScal);
  // @ts-expect-error not a kernel of the contract
  ENGINE.runKernel('Matmul', { a: t, b: t }, { transposeA: false, transposeB: false });
}

describe('the kernel contract', () => {
  it('lists each of its 24 kernels once', () => {
    expect(KERNEL_NAMES).toHaveLength(24);
    expect(new Set(KERNEL_NAMES).size).toBe(24);
    expect(KERNEL_NAMES).toContain(ScaledMatMul);
  });

  it('runs a kernel made by defineKernel through the engine, under its name', () => {
    setBackend(fillOnlyBackend());
    const out = ENGINE.runKernel(Fill, {}, { shape: [2, 3], value: 1, dtype: 'int32' });
    expect([out.shape, out.dtype]).toEqual([[2, 3], 'int32']);
    expect(() => ENGINE.runKernel(MatMul, { a: out, b: out }, { transposeA: false, transposeB: false })).toThrow(
      'kernel MatMul is not implemented by backend fill-only',
    );
  });
});
