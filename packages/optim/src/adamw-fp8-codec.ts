/**
 * AdamWFp8's codec: e4m3 moments per group of 128 with COAT's Dynamic Range Expansion
 * (Xi et al. 2024): each group's values are raised to a power k that stretches their dynamic range
 * onto e4m3's before the cast, so small moments do not flush to zero.
 *
 *   mx = max|x|, mn = min nonzero |x|, c = √(mx·mn)
 *   k  = ⌊16 · log2(448²/2) / log2(mx/mn)⌋ / 16          (k = 1 when mx = mn)
 *   y  = sign(x)·(|x|/c)^k,  s = (mx/c)^k / 448,  q = e4m3(y / s)       stored: q, s, k, c
 *   x  ≈ sign(q)·|q·s|^(1/k)·c
 *
 * Without expansion (`expansion: false`) it is plain per-group absmax scaling: s = mx/448, q = e4m3(x/s).
 *
 * HOST-SIDE: the group statistics and the power law run on the host on arrays read with
 * `dataSync()`; the cast itself is core's bit-exact `fp8.encode`/`fp8.decode`. A fused kernel can
 * replace `quantizeFp8Groups`/`dequantizeFp8Groups` with the same stored q, s, k, c.
 */
import { fp8 } from '@octet/core';
import type { HostCodec } from './compressed-adamw.js';

export const E4M3_MAX = 448;
/** log2(448² / 2): the dynamic range (max over min) the expansion targets. */
const TARGET_RANGE_LOG2 = Math.log2((E4M3_MAX * E4M3_MAX) / 2);

export interface Fp8Groups {
  codes: Uint8Array;
  /** s per group. */
  scale: Float32Array;
  /** k per group (expansion only). */
  expand?: Float32Array;
  /** c per group (expansion only). */
  center?: Float32Array;
}

export function quantizeFp8Groups(values: Float32Array, groupSize: number, expansion: boolean): Fp8Groups {
  const n = values.length;
  const groups = Math.ceil(n / groupSize);
  const scaled = new Float32Array(n);
  const scale = new Float32Array(groups);
  const expand = expansion ? new Float32Array(groups) : undefined;
  const center = expansion ? new Float32Array(groups) : undefined;
  for (let gi = 0; gi < groups; gi++) {
    const start = gi * groupSize;
    const end = Math.min(n, start + groupSize);
    let mx = 0;
    let mn = Number.POSITIVE_INFINITY;
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]!);
      if (a > mx) mx = a;
      if (a > 0 && a < mn) mn = a;
    }
    if (mx === 0) {
      // All zeros: q = 0 decodes to 0 whatever s, k, c are.
      if (expand && center) {
        expand[gi] = 1;
        center[gi] = 1;
      }
      continue;
    }
    if (!expand || !center) {
      const s = Math.fround(mx / E4M3_MAX);
      scale[gi] = s;
      for (let i = start; i < end; i++) scaled[i] = values[i]! / s;
      continue;
    }
    const ratio = mx / mn;
    const k = Math.fround(ratio > 1 ? Math.max(1, Math.floor((16 * TARGET_RANGE_LOG2) / Math.log2(ratio))) / 16 : 1);
    const c = Math.fround(Math.sqrt(mx * mn));
    const s = Math.fround((mx / c) ** k / E4M3_MAX);
    expand[gi] = k;
    center[gi] = c;
    scale[gi] = s;
    for (let i = start; i < end; i++) {
      const x = values[i]!;
      scaled[i] = (Math.sign(x) * (Math.abs(x) / c) ** k) / s;
    }
  }
  return { codes: fp8.encode(scaled, 'e4m3fn'), scale, ...(expand ? { expand, center } : {}) };
}

export function dequantizeFp8Groups(
  { codes, scale, expand, center }: { codes: Uint8Array; scale: Float32Array; expand?: Float32Array; center?: Float32Array },
  groupSize: number,
): Float32Array {
  if (!expand || !center) {
    const q = fp8.decode(codes, 'e4m3fn');
    for (let i = 0; i < q.length; i++) q[i] = q[i]! * scale[Math.floor(i / groupSize)]!;
    return q;
  }
  // |q·s|^(1/k)·c = |q|^(1/k) · (s^(1/k)·c): one power per group, and |q|^(1/k) from a table per k.
  const out = new Float32Array(codes.length);
  for (let start = 0, gi = 0; start < codes.length; start += groupSize, gi++) {
    const k = expand[gi]!;
    const roots = rootTable(k);
    const factor = scale[gi]! ** (1 / k) * center[gi]!;
    const end = Math.min(codes.length, start + groupSize);
    for (let i = start; i < end; i++) {
      const code = codes[i]!;
      const magnitude = roots[code & 0x7f]! * factor;
      out[i] = code & 0x80 ? -magnitude : magnitude;
    }
  }
  return out;
}

/**
 * |q|^(1/k) for the 128 non-negative e4m3 codes (NaN for the NaN code), per k seen: k is a
 * multiple of 1/16 from a narrow range, so a few tables serve every group, and decoding costs no
 * power per element (the per-element power was most of AdamWFp8's step).
 */
const rootTables = new Map<number, Float64Array>();
function rootTable(k: number): Float64Array {
  let table = rootTables.get(k);
  if (table === undefined) {
    const magnitudes = fp8.decodeTable('e4m3fn').subarray(0, 128);
    table = Float64Array.from(magnitudes, (q) => q ** (1 / k));
    rootTables.set(k, table);
  }
  return table;
}

/** The codec of one moment: `codes` (uint8 e4m3), `scale` and, with expansion, `expand` (k) and `center` (c), f32 per group. */
export function fp8GroupCodec(groupSize: number, expansion: boolean): HostCodec {
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  return {
    layout: (shape) => {
      const groups = [Math.ceil(size(shape) / groupSize)];
      return {
        codes: { dtype: 'uint8', shape: [size(shape)] },
        scale: { dtype: 'float32', shape: groups },
        ...(expansion
          ? { expand: { dtype: 'float32' as const, shape: groups }, center: { dtype: 'float32' as const, shape: groups } }
          : {}),
      };
    },
    decode: (state) =>
      dequantizeFp8Groups(
        {
          codes: state.codes as Uint8Array,
          scale: state.scale as Float32Array,
          expand: state.expand as Float32Array | undefined,
          center: state.center as Float32Array | undefined,
        },
        groupSize,
      ),
    encode: (values) => quantizeFp8Groups(values, groupSize, expansion) as unknown as Record<string, Uint8Array | Float32Array>,
  };
}
