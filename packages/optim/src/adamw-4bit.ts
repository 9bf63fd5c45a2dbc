/**
 * AdamW with 4-bit moments (thu-ml's low-bit optimizers): m in blocks of 128 on the signed
 * dynamic-exponent map, v with rank-1 normalisation on the linear map without zero, two codes per
 * byte. Only tensors with more than 4096 elements and at least 2 dimensions are compressed (others
 * keep f32). State: 1 byte per parameter plus 4 bytes per block of 128 and 4 bytes per row and
 * column (≈ 1.03 B/param). `firstMoment: 'rank1-linear'` holds m like v (rank-1 scales) on the
 * signed linear map instead: one of lpmm's configurations, not its default.
 */
import { check, type Variable } from '@octet/core';
import { rank1Codec } from './adamw-4bit-codec.js';
import { blockwiseCodec } from './adamw-8bit-codec.js';
import { DYNAMIC_MAP_SIGNED_4BIT, LINEAR_MAP_4BIT, SIGNED_LINEAR_MAP_4BIT } from './codebooks.js';
import { CompressedAdamW, type CompressedAdamWOptions } from './compressed-adamw.js';
import type { StateScalar } from './optimizer.js';
import { checkInteger } from './option-checks.js';
import type { ParamGroup } from './param-groups.js';

/**
 * How the first moment is quantized (lpmm's QUANT.M settings):
 * - 'blockwise' (the published default): absmax per block of `blockSize`, signed dynamic-exponent map;
 * - 'rank1-linear': rank-1 scales (SCALE_TYPE rank1) on the signed linear map linspace(−1, 1, 16)
 *   (QUANT_TYPE power-1); 4 bytes per row and column instead of per block.
 */
export type FirstMoment4bit = 'blockwise' | 'rank1-linear';

export interface AdamW4bitOptions extends CompressedAdamWOptions {
  /** Elements per absmax block of the first moment (default 128; 'blockwise' only). */
  blockSize?: number;
  /** How m is held (default 'blockwise', thu-ml's default; see `FirstMoment4bit`). */
  firstMoment?: FirstMoment4bit;
  /** Only tensors with more elements than this (and at least 2 dimensions) are compressed (default 4096). */
  threshold?: number;
}

export class AdamW4bit extends CompressedAdamW {
  readonly name = 'adamw4bit';
  readonly blockSize: number;
  readonly threshold: number;
  readonly firstMoment: FirstMoment4bit;

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamW4bitOptions) {
    super('AdamW4bit', params, options);
    const { blockSize = 128, threshold = 4096, firstMoment = 'blockwise' } = options;
    checkInteger('AdamW4bit blockSize', blockSize, 1);
    checkInteger('AdamW4bit threshold', threshold, 0);
    check(
      firstMoment === 'blockwise' || firstMoment === 'rank1-linear',
      'AdamW4bit firstMoment',
      firstMoment,
      "'blockwise' or 'rank1-linear'",
    );
    this.blockSize = blockSize;
    this.threshold = threshold;
    this.firstMoment = firstMoment;
    const firstMomentCodec =
      firstMoment === 'blockwise' ? blockwiseCodec(DYNAMIC_MAP_SIGNED_4BIT, blockSize, 4) : rank1Codec(SIGNED_LINEAR_MAP_4BIT);
    // More than `threshold` elements (lpmm's THRESHOLD) and at least 2-D (lpmm also quantizes long 1-D tensors: see the README).
    this.initStates({ exp_avg: firstMomentCodec, exp_avg_sq: rank1Codec(LINEAR_MAP_4BIT) }, (p) => p.size > threshold && p.rank >= 2);
  }

  protected override scalars(): Record<string, StateScalar> {
    return { blockSize: this.blockSize, threshold: this.threshold, firstMoment: this.firstMoment };
  }
}
