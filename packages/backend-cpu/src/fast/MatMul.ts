import { MatMul, matMulGeometry } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { matMulConfig as referenceMatMul } from '../kernels/MatMul.js';
import { wasmMatMul, worthWasm } from './MatMul_impl.js';

/** f32 matmul on the WASM SIMD kernels, on every thread of the backend. */
export const matMulConfig = defineCpuKernel(MatMul, (args) => {
  const {
    inputs: { a, b },
    attrs: { transposeA, transposeB },
    backend,
  } = args;
  const geometry = matMulGeometry(a, b, transposeA, transposeB);
  if (!backend.wasm || !worthWasm(geometry, backend.minWasmWork)) return referenceMatMul.kernelFunc(args);
  const out = wasmMatMul(
    backend.wasm,
    { key: a.dataId, values: values(a), format: 'f32' },
    { key: b.dataId, values: values(b), format: 'f32' },
    geometry,
    transposeA,
    transposeB,
    1,
  );
  return output(out, geometry.outShape);
});
