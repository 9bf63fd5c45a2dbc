// Errors

export type {
  AnyTypedArray,
  Backend,
  DataId,
  DType,
  KernelArgs,
  KernelConfig,
  KernelFunction,
  TensorInfo,
  TypedKernelFunction,
} from './backend.js';
export { BYTES_PER_ELEMENT, defineKernel, kernelTable, makeTypedArray, sizeOf } from './backend.js';
export type { GradFunc, MemoryInfo } from './engine.js';
export { dispose, ENGINE, getActiveBackend, keep, memory, resetPeakMemory, setBackend, tidy, valueAndGrads } from './engine.js';
export { check, describe, OctetArgumentError } from './errors.js';
// The kernel contract and the backend interface
export * from './kernel-names.js';
// FP8, bf16 and f16 codecs; scaling (quantize/dequantize)
export * from './numerics.js';
export * from './ops/ops.js';
export * as op from './ops/ops.js';
export { Random } from './random.js';
export { backendsByPriority, bestBackend, getBackend, registerBackend, registeredBackends } from './registry.js';
export { ropeTable } from './rope-table.js';
export { broadcastShapes, broadcastStrides, type MatMulGeometry, matMulGeometry } from './shape-rules.js';
// Tensors, memory and autograd
export { Tensor, Variable } from './tensor.js';

import './gradients.js';

export * from './nn/index.js';
// FP8 layers and recipes
export * from './recipes/recipes.js';
// Test utilities shared by every backend's tests
export { checkGradients, type GradientCheckResult } from './testing/gradient-check.js';
