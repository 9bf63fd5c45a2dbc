/**
 * AdamW with 4-bit moments (thu-ml's low-bit optimizers): m in blocks of 128 on the signed
 * dynamic-exponent map, v with rank-1 normalisation on the linear map without zero, two codes per
 * byte. Only tensors with more than 4096 elements and at least 2 dimensions are compressed (others
 * keep f32). State: 1 byte per parameter plus 4 bytes per block of 128 and 4 bytes per row and
 * column (≈ 1.03 B/param).
 */
import type { Variable } from '@octet/core';
import { blockwise4bitCodec, RANK1_4BIT_CODEC } from './adamw-4bit-codec.js';
import { CompressedAdamW, type HostCodec, IDENTITY_CODEC, type Moment } from './compressed-adamw.js';
import { type AdamFamilyOptions, checkInteger, type StateScalar } from './optimizer.js';
import type { ParamGroup } from './param-groups.js';

export interface AdamW4bitOptions extends AdamFamilyOptions {
  /** Elements per absmax block of the first moment (default 128). */
  blockSize?: number;
  /** Only tensors with more elements than this are compressed (default 4096). */
  threshold?: number;
  /** Keep every moment in f32 through the same host path (the degenerate setting, for tests). */
  identityCodec?: boolean;
}

export class AdamW4bit extends CompressedAdamW {
  readonly name = 'adamw4bit';
  readonly blockSize: number;
  readonly threshold: number;
  private readonly codecs: Record<Moment, HostCodec>;

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamW4bitOptions) {
    super('AdamW4bit', params, options);
    const { blockSize = 128, threshold = 4096, identityCodec = false } = options;
    checkInteger('AdamW4bit blockSize', blockSize, 1);
    checkInteger('AdamW4bit threshold', threshold, 0);
    this.blockSize = blockSize;
    this.threshold = threshold;
    this.codecs = identityCodec
      ? { exp_avg: IDENTITY_CODEC, exp_avg_sq: IDENTITY_CODEC }
      : { exp_avg: blockwise4bitCodec(blockSize), exp_avg_sq: RANK1_4BIT_CODEC };
    this.initStates();
  }

  protected codecFor(p: Variable, moment: Moment): HostCodec | null {
    return p.size > this.threshold && p.rank >= 2 ? this.codecs[moment] : null;
  }

  protected override scalars(): Record<string, StateScalar> {
    return { blockSize: this.blockSize, threshold: this.threshold };
  }
}
