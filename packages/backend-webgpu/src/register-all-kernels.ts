/** The WebGPU backend's kernels, as one explicit list. */
import type { KernelConfig } from '@octet/core';
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

export const WEBGPU_KERNELS: readonly KernelConfig[] = [
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
