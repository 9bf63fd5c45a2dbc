// FP8, e8m0, bf16 and f16 codecs, and scaling (quantize / dequantize with static, current and
// delayed scales at any granularity). See the package README, section "FP8 numerics".

export type { Float16EncodeOptions } from './dtypes/bf16.js';
export * as bf16 from './dtypes/bf16.js';
export type { E8m0EncodeOptions, E8m0Rounding } from './dtypes/e8m0.js';
export * as e8m0 from './dtypes/e8m0.js';
export * as f16 from './dtypes/f16.js';
export {
  BF16_FORMAT,
  E8M0_FORMAT,
  F16_FORMAT,
  FLOAT_FORMATS,
  type FloatFormat,
  type FloatFormatInfo,
  FP8_FORMATS,
  type Fp8Format,
  type Fp8FormatInfo,
  isFp8Format,
  type Rounding,
} from './dtypes/formats.js';
export type { Fp8EncodeOptions } from './dtypes/fp8.js';
export * as fp8 from './dtypes/fp8.js';
export { type AmaxComputeAlgo, DelayedScaling, type DelayedScalingOptions } from './scaling/delayed.js';
export {
  BLOCK_1X128,
  BLOCK_128X128,
  type Granularity,
  MX_BLOCK,
  PER_COLUMN,
  PER_ROW,
  PER_TENSOR,
  perBlock,
  type ScaleLayout,
  scaleLayout,
} from './scaling/granularity.js';
export { dequantize, type QuantizedTensor, type QuantizeSpec, quantize } from './scaling/quantize.js';
export {
  type ComputeScaleOptions,
  type CurrentScaling,
  computeScale,
  currentScaling,
  roundDownToPowerOfTwo,
  type ScaleSource,
  type StaticScaling,
  staticScaling,
} from './scaling/scale.js';
