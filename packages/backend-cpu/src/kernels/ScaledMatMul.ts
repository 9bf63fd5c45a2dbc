import { fp8, matMulGeometry, ScaledMatMul } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { matMulValues } from './MatMul_impl.js';

/** Decodes both FP8 operands through the 256-entry tables, multiplies in f32, applies the scales once. */
export const scaledMatMulConfig = defineCpuKernel(ScaledMatMul, ({ inputs: { a, b, aScale, bScale }, attrs, backend }) => {
  const { aFormat, bFormat, transposeA, transposeB, alpha } = attrs;
  const geometry = matMulGeometry(a, b, transposeA, transposeB);
  const av = fp8.decode(values<Uint8Array>(a), aFormat);
  const bv = fp8.decode(values<Uint8Array>(b), bFormat);
  const out = matMulValues(av, bv, geometry, transposeA, transposeB, backend.gemmPool);
  const factor = Math.fround(alpha / (values(aScale)[0]! * values(bScale)[0]!));
  for (let i = 0; i < out.length; i++) out[i]! *= factor;
  return output(out, geometry.outShape);
});
