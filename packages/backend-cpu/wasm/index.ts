// AssemblyScript entry of the CPU backend's WASM kernels (built to dist/kernels.wasm).
export { gelu, geluGrad } from './Gelu';
export { gemmTile, hasSpecialCodes, matvecCols, matvecRows, packWeights } from './MatMul';
export { quantize } from './Quantize';
