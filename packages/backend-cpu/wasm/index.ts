// AssemblyScript entry of the CPU backend's WASM kernels, built twice: dist/kernels.wasm with SIMD,
// dist/kernels-relaxed.wasm with relaxed SIMD as well (fused multiply-adds in the matmuls).
export { gelu, geluGrad } from './Gelu';
export { gemmTile, packWeights } from './MatMul';
export { countSubnormalCodes, hasSpecialCodes, matvecCols, matvecRows, rewriteSubnormalCodes } from './MatVec';
export { quantize } from './Quantize';
export { logSumExpParts, softmax } from './Softmax';
export { affine, binary, unary } from './Elementwise';

/** 1 in the build with relaxed SIMD, so a module passed in from outside says which it is. */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
