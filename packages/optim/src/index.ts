export { AdamW, type AdamWOptions } from './adamw.js';
export { clipByGlobalNorm } from './clip.js';
export { type ParamGroup, resolveGroups } from './param-groups.js';
export { warmupCosine } from './schedule.js';
