/** Optimizers by name, for command lines and configs (`octet-train --optimizer adamw8bit`). */
import { check, type Variable } from '@octet/core';
import type { AdamFamilyOptions } from './adam-family.js';
import { AdamSNSM } from './adam-snsm.js';
import { AdamW } from './adamw.js';
import { AdamW4bit } from './adamw-4bit.js';
import { AdamW8bit } from './adamw-8bit.js';
import { AdamWFp8 } from './adamw-fp8.js';
import { Grass } from './grass.js';
import { MicroAdam } from './micro-adam.js';
import type { Optimizer } from './optimizer.js';
import type { ParamGroup } from './param-groups.js';

/** The Adam-family optimizers selectable by name; each takes AdamW's options (lr, betas, eps, weightDecay). */
export const OPTIMIZER_NAMES = ['adamw', 'adamw8bit', 'adamw-fp8', 'adamw4bit', 'microadam', 'adam-snsm', 'grass'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/**
 * Creates the optimizer `name` with AdamW-style options plus `extra` (the class's own options, e.g.
 * `{ rank: 32 }` for adam-snsm). Unknown names get an error listing the allowed ones.
 */
export function createOptimizer(
  name: string,
  params: readonly ParamGroup[] | readonly Variable[],
  options: AdamFamilyOptions,
  extra: Record<string, unknown> = {},
): Optimizer {
  check((OPTIMIZER_NAMES as readonly string[]).includes(name), 'optimizer', name, OPTIMIZER_NAMES.join(', '));
  const all = { ...options, ...extra };
  switch (name as OptimizerName) {
    case 'adamw':
      return new AdamW(params, all);
    case 'adamw8bit':
      return new AdamW8bit(params, all);
    case 'adamw-fp8':
      return new AdamWFp8(params, all);
    case 'adamw4bit':
      return new AdamW4bit(params, all);
    case 'microadam':
      return new MicroAdam(params, all);
    case 'adam-snsm':
      return new AdamSNSM(params, all);
    case 'grass':
      return new Grass(params, all);
  }
}
