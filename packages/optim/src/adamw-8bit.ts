/**
 * AdamW with block-wise 8-bit moments (bitsandbytes' `AdamW8bit`, Dettmers et al. 2022): m on the
 * signed dynamic map, v on the unsigned one, each block of 256 scaled by its absmax; tensors under
 * 4096 elements keep f32 moments. State: 2 bytes per parameter plus 2 × 4 bytes per block of 256
 * (≈ 2.03 B/param) against AdamW's 8.
 */
import type { Variable } from '@octet/core';
import { blockwiseCodec } from './adamw-8bit-codec.js';
import { DYNAMIC_MAP_SIGNED_8BIT, DYNAMIC_MAP_UNSIGNED_8BIT } from './codebooks.js';
import { CompressedAdamW, type CompressedAdamWOptions } from './compressed-adamw.js';
import type { StateScalar } from './optimizer.js';
import { checkInteger } from './option-checks.js';
import type { ParamGroup } from './param-groups.js';

export interface AdamW8bitOptions extends CompressedAdamWOptions {
  /** Elements per absmax block (default 256). */
  blockSize?: number;
  /** Tensors with fewer elements keep f32 moments (default 4096). */
  minQuantizedSize?: number;
}

export class AdamW8bit extends CompressedAdamW {
  readonly name = 'adamw8bit';
  readonly blockSize: number;
  readonly minQuantizedSize: number;

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamW8bitOptions) {
    super('AdamW8bit', params, options);
    const { blockSize = 256, minQuantizedSize = 4096 } = options;
    checkInteger('AdamW8bit blockSize', blockSize, 1);
    checkInteger('AdamW8bit minQuantizedSize', minQuantizedSize, 0);
    this.blockSize = blockSize;
    this.minQuantizedSize = minQuantizedSize;
    this.initStates(
      {
        exp_avg: blockwiseCodec(DYNAMIC_MAP_SIGNED_8BIT, blockSize, 8),
        exp_avg_sq: blockwiseCodec(DYNAMIC_MAP_UNSIGNED_8BIT, blockSize, 8),
      },
      (p) => p.size >= minQuantizedSize,
    );
  }

  protected override scalars(): Record<string, StateScalar> {
    return { blockSize: this.blockSize, minQuantizedSize: this.minQuantizedSize };
  }
}
