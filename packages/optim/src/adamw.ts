/**
 * AdamW with f32 moments (8 bytes of state per parameter): the baseline every compressed optimizer
 * is measured against. The update runs as kernels on the parameters' backend.
 */
import type { Tensor, Variable } from '@octet/core';
import { AdamFamilyBase, type AdamFamilyOptions } from './adam-family.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

export type AdamWOptions = AdamFamilyOptions;

export class AdamW extends AdamFamilyBase {
  readonly name: string = 'adamw';

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamWOptions) {
    super('AdamW', params, options);
    for (const p of this.params()) this.addMoments(p);
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    this.adamWStep(p, g, group, lr);
  }
}
