import { matMulGeometry, ScaledMatMul } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';
import { scaledMatMulConfig as referenceScaledMatMul } from '../kernels/ScaledMatMul.js';
import { wasmMatMul, worthWasm } from './MatMul_impl.js';

/** FP8 × FP8 → f32 on the WASM SIMD kernels: codes are decoded inside the kernels, the scales applied once per output. */
export const scaledMatMulConfig = defineCpuKernel(ScaledMatMul, (args) => {
  const {
    inputs: { a, b, aScale, bScale },
    attrs: { aFormat, bFormat, transposeA, transposeB, alpha },
    backend,
  } = args;
  const geometry = matMulGeometry(a, b, transposeA, transposeB);
  if (!backend.wasm || !worthWasm(geometry, backend.minWasmWork)) return referenceScaledMatMul.kernelFunc(args);
  const factor = Math.fround(alpha / (values(aScale)[0]! * values(bScale)[0]!));
  const out = wasmMatMul(
    backend.wasm,
    { key: a.dataId, values: values<Uint8Array>(a), format: aFormat },
    { key: b.dataId, values: values<Uint8Array>(b), format: bFormat },
    geometry,
    transposeA,
    transposeB,
    factor,
  );
  return output(out, geometry.outShape);
});
