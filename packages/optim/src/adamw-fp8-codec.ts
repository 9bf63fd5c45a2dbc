/**
 * AdamWFp8's codec: e4m3 moments per group of 128 with COAT's Dynamic Range Expansion
 * (Xi et al. 2024): each group's values are raised to a power k that stretches their dynamic range
 * onto e4m3's before the cast, so small moments do not flush to zero.
 *
 *   mx = max|x|, mn = min nonzero |x|, c = √mx·√mn
 *   k  = max(1, ⌊16 · log2(448²/2) / log2(mx/mn)⌋) / 16                (k = 1 when mx = mn)
 *   y  = sign(x)·(|x|/c)^k,  s = (mx/c)^k / 448,  q = e4m3(y / s)       stored: q, s, k, c
 *   x  ≈ sign(q)·|q·s|^(1/k)·c
 *
 * Without expansion (`expansion: false`) it is plain per-group absmax scaling: s = mx/448, q = e4m3(x/s).
 * A group of zeros stores s = 0, k = 1, c = 1 and q = 0, which decodes to 0.
 *
 * Written with core's ops on (groups, 128) blocks, branch-free (the cases above are selected with
 * `step`): every backend runs it on its own kernels, in f32. c is √mx·√mn rather than √(mx·mn),
 * whose product can underflow f32 for second moments.
 */
import { op, sizeOf, type Tensor } from '@octet/core';
import { asBlocks, blockCount, fromBlocks } from './block-layout.js';
import type { MomentCodec } from './compressed-adamw.js';

export const E4M3_MAX = 448;
/** log2(448² / 2): the dynamic range (max over min) the expansion targets. */
const TARGET_RANGE_LOG2 = Math.log2((E4M3_MAX * E4M3_MAX) / 2);
/** Stands in for the |x| of zeros when taking the smallest nonzero |x| (larger than any moment). */
const NOT_A_MINIMUM = 3e38;
/** k·16 is clamped here before truncation (it is finite and below this whenever mx/mn > 1 in f32). */
const MAX_K16 = 2 ** 30;

/** 1 where x > 0, else 0 (x ≥ 0 here: so 1 − isPositive(x) marks the zeros). */
const isPositive = (x: Tensor) => op.step(x);
/** x where x > 0, else 1: a divisor that leaves the zeros it divides at 0. */
const orOne = (x: Tensor) => op.add(x, op.sub(op.scalar(1), isPositive(x)));

interface Fp8GroupStats {
  /** s per group, (groups, 1). */
  scale: Tensor;
  /** k per group, (groups, 1) (expansion only). */
  expand?: Tensor;
  /** c per group, (groups, 1) (expansion only). */
  center?: Tensor;
}

/** The per-group s (and k, c) of blocks (groups, groupSize). */
function groupStats(blocks: Tensor, expansion: boolean): Fp8GroupStats {
  const mx = op.amax(blocks, 1, true);
  if (!expansion) return { scale: op.mulScalar(mx, 1 / E4M3_MAX) };
  const magnitudes = op.abs(blocks);
  const zerosHidden = op.add(magnitudes, op.mulScalar(op.sub(op.scalar(1), isPositive(magnitudes)), NOT_A_MINIMUM));
  const mn = op.neg(op.max(op.neg(zerosHidden), 1, true)); // NOT_A_MINIMUM for a group of zeros
  const ratio = op.div(mx, mn); // ≥ 1, or 0 for a group of zeros
  const k16 = op.maximum(
    op.cast(
      op.cast(
        op.minimum(op.div(op.scalar(16 * TARGET_RANGE_LOG2), op.mulScalar(op.log(ratio), 1 / Math.LN2)), op.scalar(MAX_K16)),
        'int32',
      ),
      'float32',
    ),
    op.scalar(1),
  );
  const expanding = isPositive(op.addScalar(ratio, -1)); // mx > mn
  const expand = op.mulScalar(op.add(op.mul(expanding, k16), op.mulScalar(op.sub(op.scalar(1), expanding), 16)), 1 / 16);
  const center = op.add(op.mul(op.sqrt(mx), op.sqrt(mn)), op.sub(op.scalar(1), isPositive(mx))); // 1 for a group of zeros
  const scale = op.mulScalar(op.pow(op.div(mx, center), expand), 1 / E4M3_MAX);
  return { scale, expand, center };
}

/** The codec of one moment: `codes` (uint8 e4m3), `scale` and, with expansion, `expand` (k) and `center` (c), f32 per group. */
export function fp8GroupCodec(groupSize: number, expansion: boolean): MomentCodec {
  const one = () => op.scalar(1);
  return {
    layout: (shape) => {
      const groups = [blockCount(sizeOf(shape), groupSize)];
      return {
        codes: { dtype: 'uint8', shape: [sizeOf(shape)] },
        scale: { dtype: 'float32', shape: groups },
        ...(expansion
          ? { expand: { dtype: 'float32' as const, shape: groups }, center: { dtype: 'float32' as const, shape: groups } }
          : {}),
      };
    },
    encode: (values) => {
      const blocks = asBlocks(values, groupSize); // (groups, groupSize)
      const { scale, expand, center } = groupStats(blocks, expansion);
      const expanded = expand && center ? op.mul(op.sign(blocks), op.pow(op.div(op.abs(blocks), center), expand)) : blocks;
      const codes = op.quantizeTensor(fromBlocks(op.div(expanded, orOne(scale)), [values.size]), one(), 'e4m3fn');
      const flat = (t: Tensor) => op.reshape(t, [t.size]);
      return { codes, scale: flat(scale), ...(expand && center ? { expand: flat(expand), center: flat(center) } : {}) };
    },
    decode: ({ codes, scale, expand, center }, shape) => {
      const column = (t: Tensor) => op.reshape(t, [t.size, 1]);
      const q = asBlocks(op.dequantizeTensor(codes!, one(), 'e4m3fn'), groupSize);
      const qs = op.mul(q, column(scale!));
      if (!expand || !center) return fromBlocks(qs, shape);
      const magnitude = op.mul(op.pow(op.abs(qs), op.reciprocal(column(expand))), column(center));
      return fromBlocks(op.mul(op.sign(q), magnitude), shape);
    },
  };
}
