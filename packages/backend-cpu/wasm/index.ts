// AssemblyScript entry of the CPU backend's WASM kernels (built to dist/kernels.wasm).
export { gelu, geluGrad } from './Gelu';
export { countSubnormalCodes, gemmTile, hasSpecialCodes, matvecCols, matvecRows, packWeights, rewriteSubnormalCodes } from './MatMul';
export { quantize } from './Quantize';
export { logSumExpParts, softmax } from './Softmax';
export { affine, binary, unary } from './Elementwise';
