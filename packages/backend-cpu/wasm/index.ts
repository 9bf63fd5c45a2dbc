// AssemblyScript entry of the CPU backend's WASM kernels (built to dist/kernels.wasm).
export { gemmTile, hasSpecialCodes, matvecCols, matvecRows } from './MatMul';
