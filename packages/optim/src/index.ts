export { AdamFamilyBase, type AdamFamilyOptions } from './adam-family.js';
export { AdamSNSM, type AdamSNSMOptions, type SubspaceProjection } from './adam-snsm.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { AdamW4bit, type AdamW4bitOptions, type FirstMoment4bit } from './adamw-4bit.js';
export { AdamW8bit, type AdamW8bitOptions } from './adamw-8bit.js';
export { AdamWFp8, type AdamWFp8Options } from './adamw-fp8.js';
export { clipByGlobalNorm } from './clip.js';
export {
  DYNAMIC_MAP_SIGNED_4BIT,
  DYNAMIC_MAP_SIGNED_8BIT,
  DYNAMIC_MAP_UNSIGNED_8BIT,
  type DynamicMapOptions,
  dynamicMap,
  LINEAR_MAP_4BIT,
  type LinspaceKernel,
  linearMapWithoutZero,
  linspaceF32,
  SIGNED_LINEAR_MAP_4BIT,
  signedLinearMap,
} from './codebooks.js';
export { CompressedAdamW, type CompressedAdamWOptions, IDENTITY_CODEC, type MomentCodec } from './compressed-adamw.js';
export { createOptimizer, OPTIMIZER_NAMES, type OptimizerName } from './factory.js';
export { Grass, type GrassOptions } from './grass.js';
export type { RowSelection } from './grass-projection.js';
export { MicroAdam, type MicroAdamOptions } from './micro-adam.js';
export { type HostValues, type Optimizer, OptimizerBase, type OptimizerState, type StateScalar } from './optimizer.js';
export { type ParamGroup, type ResolvedGroup, resolveGroups } from './param-groups.js';
export { warmupCosine } from './schedule.js';
export { SGD, type SGDOptions } from './sgd.js';
