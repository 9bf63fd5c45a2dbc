/**
 * The tiled matmul every matmul kernel shares: a 16×16 workgroup computes a 16×16 block of the
 * output, staging 16-wide slices of A and B through workgroup memory and accumulating in f32 in
 * k order. Operands are read through `load_a(batch, m, k)` / `load_b(batch, k, n)`, which a kernel
 * supplies (plain f32, or FP8 codes decoded in the shader), and the result passes `epilogue(acc)`.
 */
import type { MatMulGeometry } from '@octet/core';
import type { Binding, Program } from '../program.js';

export const TILE = 16;

export interface TiledMatMulSpec {
  key: string;
  inputs: readonly Binding[];
  /** WGSL defining `load_a`, `load_b` and `epilogue`, and anything they need. */
  helpers: string;
}

/** Uniform fields shared by every tiled matmul, in order. */
export const MATMUL_UNIFORMS: readonly Binding[] = [
  { name: 'M', type: 'u32' },
  { name: 'N', type: 'u32' },
  { name: 'K', type: 'u32' },
  { name: 'aBatchStride', type: 'u32' },
  { name: 'bBatchStride', type: 'u32' },
];

export function matMulUniforms(g: MatMulGeometry): number[] {
  return [g.M, g.N, g.K, g.aBatched ? g.M * g.K : 0, g.bBatched ? g.K * g.N : 0];
}

export function matMulWorkgroups(g: MatMulGeometry): [number, number, number] {
  return [Math.ceil(g.N / TILE), Math.ceil(g.M / TILE), g.batch];
}

/** WGSL: the flat element index of operand (row, col) when stored (rows × cols) or transposed. */
export function operandIndex(transposed: boolean, rows: string, cols: string, batchStride: string): string {
  return transposed ? `batch * ${batchStride} + col * ${rows} + row` : `batch * ${batchStride} + row * ${cols} + col`;
}

export function tiledMatMulProgram(spec: TiledMatMulSpec, extraUniforms: readonly Binding[] = []): Program {
  return {
    key: spec.key,
    inputs: spec.inputs,
    output: { name: 'out', type: 'f32' },
    uniforms: [...MATMUL_UNIFORMS, ...extraUniforms],
    workgroupSize: [TILE, TILE],
    helpers: `
var<workgroup> tileA: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> tileB: array<array<f32, ${TILE}>, ${TILE}>;
${spec.helpers}`,
    main: `  let batch = wid.z;
  let row = wid.y * ${TILE}u + lid.y;
  let col = wid.x * ${TILE}u + lid.x;
  var acc = 0.0;
  let tiles = (u.K + ${TILE - 1}u) / ${TILE}u;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * ${TILE}u + lid.x;
    var va = 0.0;
    if (row < u.M && ka < u.K) { va = load_a(batch, row, ka); }
    tileA[lid.y][lid.x] = va;
    let kb = t * ${TILE}u + lid.y;
    var vb = 0.0;
    if (kb < u.K && col < u.N) { vb = load_b(batch, kb, col); }
    tileB[lid.y][lid.x] = vb;
    workgroupBarrier();
    for (var k = 0u; k < ${TILE}u; k++) { acc += tileA[lid.y][k] * tileB[k][lid.x]; }
    workgroupBarrier();
  }
  if (row < u.M && col < u.N) { out[batch * u.M * u.N + row * u.N + col] = epilogue(acc); }`,
  };
}
