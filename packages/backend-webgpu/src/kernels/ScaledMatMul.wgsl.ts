import type { Fp8Format } from '@octet/core';
import type { Program } from '../program.js';
import { fp8Wgsl, packedByte } from '../shaders/fp8.wgsl.js';
import { operandIndex, tiledMatMulProgram } from '../shaders/tiled-matmul.wgsl.js';

/**
 * FP8 × FP8 → f32: codes stay packed four to a u32 in memory and are decoded as each tile is loaded;
 * the product is accumulated in f32 and multiplied once by alpha / (aScale · bScale).
 */
export function scaledMatMulProgram(aFormat: Fp8Format, bFormat: Fp8Format, transposeA: boolean, transposeB: boolean): Program {
  const decoders = aFormat === bFormat ? fp8Wgsl(aFormat) : fp8Wgsl(aFormat) + fp8Wgsl(bFormat);
  return tiledMatMulProgram(
    {
      key: `ScaledMatMul:${aFormat}:${bFormat}:${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}`,
      inputs: [
        { name: 'a', type: 'u32' },
        { name: 'b', type: 'u32' },
        { name: 'aScale', type: 'f32' },
        { name: 'bScale', type: 'f32' },
      ],
      helpers: `${decoders}
fn load_a(batch: u32, row: u32, col: u32) -> f32 {
  return ${aFormat}_decode(${packedByte('a', operandIndex(transposeA, 'u.M', 'u.K', 'u.aBatchStride'))});
}
fn load_b(batch: u32, row: u32, col: u32) -> f32 {
  return ${bFormat}_decode(${packedByte('b', operandIndex(transposeB, 'u.K', 'u.N', 'u.bBatchStride'))});
}
fn epilogue(acc: f32) -> f32 { return acc * (u.alpha / (aScale[0] * bScale[0])); }`,
    },
    [{ name: 'alpha', type: 'f32' }],
  );
}
