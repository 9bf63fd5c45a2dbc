/** The CPU backend's kernels, as one explicit list. */
import type { KernelConfig } from '@octet/core';
import { affineConfig as fastAffineConfig } from './fast/Affine.js';
import { binaryConfig as fastBinaryConfig } from './fast/Binary.js';
import { dequantizeConfig as fastDequantizeConfig } from './fast/Dequantize.js';
import { mapQuantizeConfig as fastMapQuantizeConfig } from './fast/MapQuantize.js';
import { matMulConfig as fastMatMulConfig } from './fast/MatMul.js';
import { quantizeConfig as fastQuantizeConfig } from './fast/Quantize.js';
import { reduceConfig as fastReduceConfig } from './fast/Reduce.js';
import { scaledMatMulConfig as fastScaledMatMulConfig } from './fast/ScaledMatMul.js';
import { softmaxConfig as fastSoftmaxConfig } from './fast/Softmax.js';
import { softmaxCrossEntropyConfig as fastSoftmaxCrossEntropyConfig } from './fast/SoftmaxCrossEntropy.js';
import { geluGradConfig as fastGeluGradConfig, unaryConfig as fastUnaryConfig } from './fast/Unary.js';
import { affineConfig } from './kernels/Affine.js';
import { binaryConfig } from './kernels/Binary.js';
import { castConfig } from './kernels/Cast.js';
import { concatConfig } from './kernels/Concat.js';
import { dequantizeConfig } from './kernels/Dequantize.js';
import { fillConfig } from './kernels/Fill.js';
import { gatherConfig } from './kernels/Gather.js';
import { geluGradConfig } from './kernels/GeluGrad.js';
import { mapDequantizeConfig } from './kernels/MapDequantize.js';
import { mapQuantizeConfig } from './kernels/MapQuantize.js';
import { matMulConfig } from './kernels/MatMul.js';
import { oneHotConfig } from './kernels/OneHot.js';
import { quantizeConfig } from './kernels/Quantize.js';
import { reduceConfig } from './kernels/Reduce.js';
import { ropeConfig } from './kernels/Rope.js';
import { roundToConfig } from './kernels/RoundTo.js';
import { scaledMatMulConfig } from './kernels/ScaledMatMul.js';
import { scaleFromAmaxConfig } from './kernels/ScaleFromAmax.js';
import { scatterAddConfig } from './kernels/ScatterAdd.js';
import { sliceConfig } from './kernels/Slice.js';
import { softmaxConfig } from './kernels/Softmax.js';
import { softmaxCrossEntropyConfig } from './kernels/SoftmaxCrossEntropy.js';
import { transposeConfig } from './kernels/Transpose.js';
import { unaryConfig } from './kernels/Unary.js';

export const CPU_KERNELS: readonly KernelConfig[] = [
  unaryConfig,
  binaryConfig,
  affineConfig,
  geluGradConfig,
  roundToConfig,
  transposeConfig,
  sliceConfig,
  concatConfig,
  gatherConfig,
  scatterAddConfig,
  oneHotConfig,
  fillConfig,
  castConfig,
  reduceConfig,
  matMulConfig,
  scaledMatMulConfig,
  quantizeConfig,
  dequantizeConfig,
  scaleFromAmaxConfig,
  mapQuantizeConfig,
  mapDequantizeConfig,
  softmaxConfig,
  softmaxCrossEntropyConfig,
  ropeConfig,
];

/**
 * The fast kernels: WASM SIMD matmuls, GELU, softmax, cross-entropy, FP8 quantization and, for
 * large arrays, the elementwise arithmetic (each falls back to its reference twin when the backend
 * has no WASM module), Binary and Unary loops V8 can inline for the rest, and codebook codes from a
 * start table per map.
 */
const FAST_KERNELS: readonly KernelConfig[] = [
  fastMatMulConfig,
  fastScaledMatMulConfig,
  fastQuantizeConfig,
  fastDequantizeConfig,
  fastReduceConfig,
  fastBinaryConfig,
  fastUnaryConfig,
  fastGeluGradConfig,
  fastSoftmaxConfig,
  fastSoftmaxCrossEntropyConfig,
  fastAffineConfig,
  fastMapQuantizeConfig,
];

/** The reference list with the hot kernels replaced by their WASM SIMD versions. */
export const CPU_FAST_KERNELS: readonly KernelConfig[] = CPU_KERNELS.map(
  (config) => FAST_KERNELS.find((fast) => fast.kernelName === config.kernelName) ?? config,
);
