export { type AttentionOptions, CausalSelfAttention } from './attention.js';
export { Block, type BlockOptions } from './block.js';
export { Embedding } from './embedding.js';
export {
  attachFp8HealthProbe,
  Fp8HealthProbe,
  type Fp8Operand,
  type Fp8OperandHealth,
  fp8OperandStats,
} from './fp8-health.js';
export { Linear, type LinearOptions } from './linear.js';
export { Mlp, type MlpOptions } from './mlp.js';
export { Module } from './module.js';
export { LayerNorm, RMSNorm } from './norm.js';
export { Fp8TensorScaling } from './scaling-state.js';
