/**
 * AdamW with FP8 (e4m3) moments, COAT's recipe: groups of 128, each with Dynamic Range Expansion
 * (a per-group power k and centre c, see adamw-fp8-codec.ts). State: 2 bytes per parameter plus
 * 2 × 3 × 4 bytes per group of 128 (≈ 2.19 B/param). `expansion: false` keeps plain per-group
 * absmax scaling (2.06 B/param) to show what the expansion buys.
 */
import type { Variable } from '@octet/core';
import { fp8GroupCodec } from './adamw-fp8-codec.js';
import { CompressedAdamW, type HostCodec, IDENTITY_CODEC, type Moment } from './compressed-adamw.js';
import { type AdamFamilyOptions, checkInteger, type StateScalar } from './optimizer.js';
import type { ParamGroup } from './param-groups.js';

export interface AdamWFp8Options extends AdamFamilyOptions {
  /** Elements per group (default 128). */
  groupSize?: number;
  /** COAT's Dynamic Range Expansion (default true). */
  expansion?: boolean;
  /** Tensors with fewer elements keep f32 moments (default 0: every moment is FP8). */
  minQuantizedSize?: number;
  /** Keep every moment in f32 through the same host path (the degenerate setting, for tests). */
  identityCodec?: boolean;
}

export class AdamWFp8 extends CompressedAdamW {
  readonly name = 'adamw-fp8';
  readonly groupSize: number;
  readonly expansion: boolean;
  readonly minQuantizedSize: number;
  private readonly codec: HostCodec;

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamWFp8Options) {
    super('AdamWFp8', params, options);
    const { groupSize = 128, expansion = true, minQuantizedSize = 0, identityCodec = false } = options;
    checkInteger('AdamWFp8 groupSize', groupSize, 1);
    checkInteger('AdamWFp8 minQuantizedSize', minQuantizedSize, 0);
    this.groupSize = groupSize;
    this.expansion = expansion;
    this.minQuantizedSize = minQuantizedSize;
    this.codec = identityCodec ? IDENTITY_CODEC : fp8GroupCodec(groupSize, expansion);
    this.initStates();
  }

  protected codecFor(p: Variable, _moment: Moment): HostCodec | null {
    return p.size >= this.minQuantizedSize ? this.codec : null;
  }

  protected override scalars(): Record<string, StateScalar> {
    return { groupSize: this.groupSize, expansion: this.expansion, minQuantizedSize: this.minQuantizedSize };
  }
}
