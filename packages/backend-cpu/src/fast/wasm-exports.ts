/** The WASM module's exports and how it numbers operand formats. */
import type { Fp8Format } from '@octet/core';

/** The module's exports (wasm/MatMul.ts); pointers are byte offsets into the memory. */
export interface KernelExports {
  gemmTile(
    a: number,
    aFormat: number,
    aKContig: number,
    b: number,
    bFormat: number,
    bKContig: number,
    bPacked: number,
    c: number,
    M: number,
    N: number,
    K: number,
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    scale: number,
    tables: number,
    packedA: number,
    packedB: number,
  ): void;
  matvecRows(
    x: number,
    M: number,
    b: number,
    format: number,
    c: number,
    N: number,
    K: number,
    n0: number,
    n1: number,
    post: number,
    scale: number,
    tables: number,
    useTable: number,
    fixups: number,
    scratch: number,
  ): void;
  matvecCols(
    x: number,
    M: number,
    b: number,
    format: number,
    c: number,
    N: number,
    K: number,
    n0: number,
    n1: number,
    post: number,
    scale: number,
    tables: number,
    useTable: number,
    fixups: number,
  ): void;
  hasSpecialCodes(src: number, n: number, format: number): number;
  countSubnormalCodes(src: number, n: number, format: number): number;
  rewriteSubnormalCodes(b: number, format: number, kContig: number, N: number, K: number, fixups: number): void;
  packWeights(b: number, format: number, kContig: number, N: number, K: number, dst: number, tables: number): void;
  gelu(x: number, out: number, n: number): void;
  geluGrad(dy: number, x: number, out: number, n: number): void;
  softmax(x: number, out: number, rows: number, width: number, queries: number, causal: number): void;
  logSumExpParts(x: number, rows: number, width: number, out: number): void;
  binary(
    op: number,
    full: number,
    part: number,
    out: number,
    rows: number,
    n: number,
    partRowStep: number,
    partStep: number,
    swap: number,
  ): void;
  affine(x: number, out: number, n: number, scale: number, shift: number): void;
  unary(op: number, x: number, out: number, n: number): void;
  quantize(
    x: number,
    n: number,
    scale: number,
    out: number,
    mantissaBits: number,
    bias: number,
    maxExponent: number,
    maxCode: number,
    overflowCode: number,
    nanCode: number,
    negativeZeroMask: number,
    table: number,
  ): void;
  /** 1 in the relaxed SIMD build (fused multiply-adds in the matmuls), else 0. */
  relaxedSimd(): number;
}

/** Operand formats as the module numbers them: 0 is f32, then the FP8 formats (their decode table's index + 1). */
export const WASM_FORMAT: Readonly<Record<'f32' | Fp8Format, number>> = { f32: 0, e4m3fn: 1, e5m2: 2, e4m3fnuz: 3, e5m2fnuz: 4 };
export const FP8_ORDER: readonly Fp8Format[] = ['e4m3fn', 'e5m2', 'e4m3fnuz', 'e5m2fnuz'];
