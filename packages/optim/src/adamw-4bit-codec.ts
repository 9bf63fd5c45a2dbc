/**
 * AdamW4bit's codecs (thu-ml's low-bit optimizers, Li et al. 2023), two 4-bit codes per byte
 * (element 2i in the low nibble of byte i, 2i + 1 in the high nibble):
 * - first moment (default): blocks of 128 scaled by their absmax, signed dynamic-exponent map
 *   (16 codes): `blockwiseCodec(DYNAMIC_MAP_SIGNED_4BIT, 128, 4)`.
 * - second moment: rank-1 normalisation, s_ij = min(max_j |v_ij|, max_i |v_ij|) (for N-D: the min
 *   over dimensions of the max over all the others), then the linear map without zero
 *   (1/16 … 1), so v never decodes to 0 where its scale is positive.
 * - first moment with `firstMoment: 'rank1-linear'`: the same rank-1 normalisation on |m| with the
 *   signed linear map linspace(−1, 1, 16).
 * Rounding is lpmm's `real-nearest`: x / scale divided in float32, then the nearest code by the
 * map's float32 midpoints (the MapQuantize kernel). A zero scale (a row or column of zeros) gives
 * 0 / 0: code 0, which decodes to map[0] · 0 = 0.
 */
import { op, sizeOf, type Tensor } from '@octet/core';
import { LINEAR_MAP_4BIT } from './codebooks.js';
import type { MomentCodec } from './compressed-adamw.js';

/** Per dimension d, the max of |x| over all the other dimensions, kept as size-1 axes so it broadcasts along d. */
function rank1Maxes(x: Tensor): Tensor[] {
  return x.shape.map((_, d) =>
    op.amax(
      x,
      x.shape.map((__, axis) => axis).filter((axis) => axis !== d),
      true,
    ),
  );
}

/** s = min over dimensions of their maxima, broadcast to x's shape. */
function rank1Scale(maxes: readonly Tensor[]): Tensor {
  return maxes.reduce((s, m) => op.minimum(s, m));
}

/**
 * Rank-1 normalised codes on `map`: `codes` (packed uint8) and `max_dim{d}` (f32, one vector per
 * dimension). The second moment's codec on the linear map without zero (`rank1Codec(LINEAR_MAP_4BIT)`).
 */
export function rank1Codec(map: Float32Array = LINEAR_MAP_4BIT): MomentCodec {
  const codebook = () => op.tensor(map, [map.length]);
  /** The maxima as stored (one vector per dimension) → broadcastable shapes (size 1 on every other axis). */
  const broadcastable = (state: Record<string, Tensor>, shape: readonly number[]) =>
    shape.map((d, i) =>
      op.reshape(
        state[`max_dim${i}`]!,
        shape.map((_, axis) => (axis === i ? d : 1)),
      ),
    );
  return {
    layout: (shape) => ({
      codes: { dtype: 'uint8', shape: [Math.ceil(sizeOf(shape) / 2)] },
      ...Object.fromEntries(shape.map((d, i) => [`max_dim${i}`, { dtype: 'float32' as const, shape: [d] }])),
    }),
    encode: (values, shape) => {
      const x = op.reshape(values, shape);
      const maxes = rank1Maxes(x);
      const codes = op.mapQuantize(op.div(x, rank1Scale(maxes)), codebook(), 4);
      return { codes, ...Object.fromEntries(maxes.map((m, i) => [`max_dim${i}`, op.reshape(m, [shape[i]!])])) };
    },
    decode: (state, shape) => op.mul(op.mapDequantize(state.codes!, codebook(), shape, 4), rank1Scale(broadcastable(state, shape))),
  };
}
