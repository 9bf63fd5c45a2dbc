import type { Program } from '../program.js';
import { operandIndex, tiledMatMulProgram } from '../shaders/tiled-matmul.wgsl.js';

export function matMulProgram(transposeA: boolean, transposeB: boolean): Program {
  return tiledMatMulProgram({
    key: `MatMul:${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}`,
    inputs: [
      { name: 'a', type: 'f32' },
      { name: 'b', type: 'f32' },
    ],
    helpers: `
fn load_a(batch: u32, row: u32, col: u32) -> f32 { return a[${operandIndex(transposeA, 'u.M', 'u.K', 'u.aBatchStride')}]; }
fn load_b(batch: u32, row: u32, col: u32) -> f32 { return b[${operandIndex(transposeB, 'u.K', 'u.N', 'u.bBatchStride')}]; }
fn epilogue(acc: f32) -> f32 { return acc; }`,
  });
}
