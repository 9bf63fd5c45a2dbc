import { fp8, type KernelConfig, matMulGeometry, type ScaledMatMulAttrs, type ScaledMatMulInputs } from '@octet/core';
import { type CpuBackend, output, values } from '../base.js';
import { matMulValues } from './MatMul_impl.js';

/** Decodes both FP8 operands through the 256-entry tables, multiplies in f32, applies the scales once. */
export const scaledMatMulConfig: KernelConfig = {
  kernelName: 'ScaledMatMul',
  kernelFunc: ({
    inputs: { a, b, aScale, bScale },
    attrs,
    backend,
  }: {
    inputs: ScaledMatMulInputs;
    attrs: ScaledMatMulAttrs;
    backend: CpuBackend;
  }) => {
    const { aFormat, bFormat, transposeA, transposeB, alpha } = attrs;
    const geometry = matMulGeometry(a, b, transposeA, transposeB);
    const av = fp8.decode(values<Uint8Array>(a), aFormat);
    const bv = fp8.decode(values<Uint8Array>(b), bFormat);
    const out = matMulValues(av, bv, geometry, transposeA, transposeB, backend.gemmPool);
    const factor = Math.fround(alpha / (values(aScale)[0]! * values(bScale)[0]!));
    for (let i = 0; i < out.length; i++) out[i]! *= factor;
    return output(out, geometry.outShape);
  },
};
