export { ACTIVATION_GROUP, dequantizeGroups, quantizeGroups, saveActivation } from './activation-storage.js';
export { type AttentionCache, type AttentionOptions, CausalSelfAttention, type GraphAttentionCache } from './attention.js';
export { Block, type BlockOps, type BlockOptions } from './block.js';
export { type CausalAttentionOptions, causalAttention } from './causal-attention.js';
export { checkpoint } from './checkpoint.js';
export { checkStepItems } from './decode-items.js';
export { Embedding } from './embedding.js';
export {
  attachFp8HealthProbe,
  Fp8HealthProbe,
  type Fp8Operand,
  type Fp8OperandHealth,
  fp8OperandStats,
} from './fp8-health.js';
export type { GraphAttribute, GraphDim, GraphEmitter, GraphStorage, GraphWeightOptions } from './graph.js';
export { Linear, type LinearOptions } from './linear.js';
export { geluSavingInput, Mlp, type MlpOptions, swigluSavingInputs } from './mlp.js';
export { Module } from './module.js';
export { LayerNorm, RMSNorm } from './norm.js';
export { Fp8TensorScaling } from './scaling-state.js';
