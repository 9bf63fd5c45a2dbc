import { check, type Variable } from '@octet/core';

/** A set of parameters sharing optimizer settings: lr multiplier and whether weight decay applies. */
export interface ParamGroup {
  name?: string;
  params: Variable[];
  /** Multiplies the optimizer's learning rate for this group (μnit Scaling's per-layer lr rules). */
  lrScale?: number;
  /** Decoupled weight decay on or off for this group (default on). */
  weightDecay?: boolean;
}

export interface ResolvedGroup {
  name: string;
  params: Variable[];
  lrScale: number;
  weightDecay: boolean;
}

export function resolveGroups(groupsOrParams: readonly ParamGroup[] | readonly Variable[]): ResolvedGroup[] {
  const groups: ParamGroup[] =
    groupsOrParams.length > 0 && 'params' in groupsOrParams[0]!
      ? (groupsOrParams as ParamGroup[])
      : [{ params: [...(groupsOrParams as Variable[])] }];
  return groups.map((g, i) => {
    const lrScale = g.lrScale ?? 1;
    check(Number.isFinite(lrScale) && lrScale > 0, `param group ${g.name ?? i}: lrScale`, lrScale, 'a number > 0');
    return { name: g.name ?? `group ${i}`, params: g.params, lrScale, weightDecay: g.weightDecay ?? true };
  });
}
