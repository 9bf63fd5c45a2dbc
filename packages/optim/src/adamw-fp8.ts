/**
 * AdamW with FP8 (e4m3) moments, COAT's recipe: groups of 128, each with Dynamic Range Expansion
 * (a per-group power k and centre c, see adamw-fp8-codec.ts). State: 2 bytes per parameter plus
 * 2 × 3 × 4 bytes per group of 128 (≈ 2.19 B/param). `expansion: false` keeps plain per-group
 * absmax scaling (2.06 B/param) to show what the expansion buys.
 */
import type { Variable } from '@octet/core';
import { fp8GroupCodec } from './adamw-fp8-codec.js';
import { CompressedAdamW, type CompressedAdamWOptions } from './compressed-adamw.js';
import type { StateScalar } from './optimizer.js';
import { checkInteger } from './option-checks.js';
import type { ParamGroup } from './param-groups.js';

export interface AdamWFp8Options extends CompressedAdamWOptions {
  /** Elements per group (default 128). */
  groupSize?: number;
  /** COAT's Dynamic Range Expansion (default true). */
  expansion?: boolean;
  /** Tensors with fewer elements keep f32 moments (default 0: every moment is FP8). */
  minQuantizedSize?: number;
}

export class AdamWFp8 extends CompressedAdamW {
  readonly name = 'adamw-fp8';
  readonly groupSize: number;
  readonly expansion: boolean;
  readonly minQuantizedSize: number;

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamWFp8Options) {
    super('AdamWFp8', params, options);
    const { groupSize = 128, expansion = true, minQuantizedSize = 0 } = options;
    checkInteger('AdamWFp8 groupSize', groupSize, 1);
    checkInteger('AdamWFp8 minQuantizedSize', minQuantizedSize, 0);
    this.groupSize = groupSize;
    this.expansion = expansion;
    this.minQuantizedSize = minQuantizedSize;
    const codec = fp8GroupCodec(groupSize, expansion);
    this.initStates({ exp_avg: codec, exp_avg_sq: codec }, (p) => p.size >= minQuantizedSize);
  }

  protected override scalars(): Record<string, StateScalar> {
    return { groupSize: this.groupSize, expansion: this.expansion, minQuantizedSize: this.minQuantizedSize };
  }
}
