/**
 * quantize / dequantize: f32 tensor ⇄ FP8 bytes + one scale per tile of the chosen granularity.
 *
 * Convention (TransformerEngine's): bytes = fp8(x · scales[tile]) and
 * x ≈ decode(bytes) · scaleInv[tile], with scaleInv = 1 / scales in f32. `scaleInv` is the
 * tensor a checkpoint stores as `weight_scale_inv` (DeepSeek-V3), and for MX its e8m0 codes
 * are the block scales of the OCP spec.
 */

import * as e8m0 from '../dtypes/e8m0.js';
import {
  checkFloat32Array,
  checkFp8Format,
  checkRounding,
  checkSeed,
  FP8_FORMATS,
  type Fp8Format,
  type Rounding,
} from '../dtypes/formats.js';
import * as fp8 from '../dtypes/fp8.js';
import { check, describe } from '../errors.js';
import { DelayedScaling } from './delayed.js';
import { type Granularity, PER_TENSOR, type ScaleLayout, scaleLayout } from './granularity.js';
import { computeScale, currentScaling, roundDownToPowerOfTwo, type ScaleSource } from './scale.js';

export interface QuantizeSpec {
  format: Fp8Format;
  /** Which elements share a scale. Default PER_TENSOR. */
  granularity?: Granularity;
  /** Where the scales come from. Default currentScaling(). MX allows only current scaling without margin. */
  scaling?: ScaleSource;
  /** Round every scale down to a power of two (multiplying by it is then exact). Default false; MX scales always are. */
  powerOfTwoScales?: boolean;
  /** Passed to fp8.encode: default true (overflow → ±max). */
  saturate?: boolean;
  /** Passed to fp8.encode: default 'nearest-even'. */
  rounding?: Rounding;
  /** Passed to fp8.encode, for stochastic rounding. */
  seed?: number;
}

export interface QuantizedTensor {
  /** FP8 codes, row-major, same element order as the input. */
  readonly bytes: Uint8Array;
  readonly format: Fp8Format;
  readonly shape: readonly number[];
  readonly granularity: Granularity;
  /** [rows / tileRows, cols / tileCols]: the shape of `scales`, `scaleInv` and `amax`. */
  readonly scaleShape: readonly [number, number];
  /** Per tile, the factor the values were multiplied by before the cast: bytes = fp8(x · scale). */
  readonly scales: Float32Array;
  /** Per tile, 1 / scale (f32): x ≈ decode(bytes) · scaleInv. What checkpoints store. */
  readonly scaleInv: Float32Array;
  /** MX only: `scaleInv` as e8m0 codes (the OCP block scales). */
  readonly scaleInvE8m0?: Uint8Array;
  /** Per tile, max |x| of this tensor (NaN ignored); null with static scaling, which computes none. */
  readonly amax: Float32Array | null;
}

/**
 * Quantizes `values` (row-major, of `shape`) to FP8. Shapes of rank ≥ 2 are seen as the matrix
 * [product of leading dims, last dim]; see granularity.ts.
 */
export function quantize(values: Float32Array, shape: readonly number[], spec: QuantizeSpec): QuantizedTensor {
  checkFloat32Array(values, 'values');
  check(typeof spec === 'object' && spec !== null, 'spec', spec, 'an object with at least { format }');
  const { format, granularity = PER_TENSOR, scaling = currentScaling(), powerOfTwoScales = false } = spec;
  checkFp8Format(format, 'spec.format');
  const layout = scaleLayout(shape, granularity, 'spec.granularity');
  checkLength(values, shape, layout);
  checkScaleSource(scaling);
  check(typeof powerOfTwoScales === 'boolean', 'spec.powerOfTwoScales', powerOfTwoScales, 'true or false');
  if (spec.saturate !== undefined) check(typeof spec.saturate === 'boolean', 'spec.saturate', spec.saturate, 'true or false');
  if (spec.rounding !== undefined) checkRounding(spec.rounding, 'spec.rounding');
  if (spec.seed !== undefined) checkSeed(spec.seed, 'spec.seed');
  const scaleCount = layout.scaleRows * layout.scaleCols;
  const encodeOptions = { saturate: spec.saturate, rounding: spec.rounding, seed: spec.seed };

  let amax: Float32Array | null = null;
  let scales: Float32Array;
  let scaleInvE8m0: Uint8Array | undefined;
  if (granularity.kind === 'mx') {
    check(
      scaling.kind === 'current' && scaling.margin === 0,
      'spec.scaling',
      scaling.kind,
      "current scaling without margin (omit it): MX scales come from each block's amax, per the OCP spec",
    );
    amax = tileAmax(values, layout);
    scaleInvE8m0 = mxScaleInvCodes(amax, format);
    const scaleInv = e8m0.decode(scaleInvE8m0);
    scales = scaleInv.map((s) => 1 / s);
  } else if (scaling.kind === 'static') {
    scales = staticScales(scaling.scale, scaleCount);
    if (powerOfTwoScales) scales = scales.map(roundDownToPowerOfTwo);
  } else {
    amax = tileAmax(values, layout);
    if (scaling.kind === 'current') {
      const options = { margin: scaling.margin, powerOfTwo: powerOfTwoScales };
      scales = amax.map((tileMax) => computeScale(tileMax, format, options));
    } else {
      scales = scaling.nextScales(format, scaleCount, { powerOfTwo: powerOfTwoScales });
    }
  }

  const bytes =
    scaleCount === 1
      ? fp8.encodeScaled(values, scales[0]!, format, encodeOptions)
      : fp8.encode(multiplyByTile(values, layout, scales, new Float32Array(values.length)), format, encodeOptions);
  if (scaling instanceof DelayedScaling && amax !== null) scaling.record(amax);

  const quantized: QuantizedTensor = {
    bytes,
    format,
    shape: [...shape],
    granularity,
    scaleShape: [layout.scaleRows, layout.scaleCols],
    scales,
    scaleInv: scales.map((s) => 1 / s),
    amax,
  };
  return scaleInvE8m0 === undefined ? quantized : { ...quantized, scaleInvE8m0 };
}

/** decode(bytes) · scaleInv, tile by tile. `out`, when given, must be a Float32Array of the same length. */
export function dequantize(quantized: QuantizedTensor, out?: Float32Array): Float32Array {
  check(typeof quantized === 'object' && quantized !== null, 'quantized', quantized, 'a QuantizedTensor from quantize()');
  const { bytes, format, shape, granularity, scaleInv } = quantized;
  check(bytes instanceof Uint8Array, 'quantized.bytes', bytes, 'a Uint8Array');
  checkFp8Format(format, 'quantized.format');
  const layout = scaleLayout(shape, granularity, 'quantized.granularity');
  check(
    bytes.length === layout.rows * layout.cols,
    'quantized.bytes.length',
    bytes.length,
    `${layout.rows * layout.cols}, the size of shape ${describe(shape)}`,
  );
  const scaleCount = layout.scaleRows * layout.scaleCols;
  check(
    scaleInv instanceof Float32Array && scaleInv.length === scaleCount,
    'quantized.scaleInv',
    scaleInv,
    `a Float32Array of ${scaleCount} scales`,
  );
  if (scaleCount === 1) return fp8.decodeScaled(bytes, scaleInv[0]!, format, out);
  const values = fp8.decode(bytes, format, out);
  return multiplyByTile(values, layout, scaleInv, values);
}

/**
 * The MX block scale of each amax as an e8m0 code: 2^(floor(log2 amax) - emax), where emax is
 * the exponent of the element format's largest power of two (8 for e4m3fn, 15 for e5m2), per
 * the OCP MX spec. Blocks of zeros (and blocks whose amax is not finite) get scale 1.
 */
function mxScaleInvCodes(amax: Float32Array, format: Fp8Format): Uint8Array {
  const exponentOfAmax = e8m0.encode(amax, { rounding: 'floor' }); // e8m0 code = biased floor(log2)
  const codes = new Uint8Array(amax.length);
  const maxExponent = FP8_FORMATS[format].maxExponent;
  for (let i = 0; i < amax.length; i++) {
    const usable = amax[i]! > 0 && Number.isFinite(amax[i]!);
    codes[i] = usable ? Math.max(0, exponentOfAmax[i]! - maxExponent) : e8m0.fromExponent(0);
  }
  return codes;
}

/** max |x| over each tile; a comparison skips NaN (as CUDA's fmaxf in TE's amax kernels). */
function tileAmax(values: Float32Array, layout: ScaleLayout): Float32Array {
  const { rows, cols, tileRows, tileCols, scaleCols } = layout;
  const amax = new Float32Array(layout.scaleRows * scaleCols);
  for (let row = 0; row < rows; row++) {
    const scaleRowStart = Math.floor(row / tileRows) * scaleCols;
    for (let tile = 0; tile < scaleCols; tile++) {
      let tileMax = amax[scaleRowStart + tile]!;
      const start = row * cols + tile * tileCols;
      for (let i = start; i < start + tileCols; i++) {
        const magnitude = Math.abs(values[i]!);
        if (magnitude > tileMax) tileMax = magnitude;
      }
      amax[scaleRowStart + tile] = tileMax;
    }
  }
  return amax;
}

/** out = values · factor of the element's tile (rounded to f32). `out` may be `values`. */
function multiplyByTile(values: Float32Array, layout: ScaleLayout, factors: Float32Array, out: Float32Array): Float32Array {
  const { rows, cols, tileRows, tileCols, scaleCols } = layout;
  for (let row = 0; row < rows; row++) {
    const scaleRowStart = Math.floor(row / tileRows) * scaleCols;
    for (let tile = 0; tile < scaleCols; tile++) {
      const factor = factors[scaleRowStart + tile]!;
      const start = row * cols + tile * tileCols;
      for (let i = start; i < start + tileCols; i++) out[i] = values[i]! * factor;
    }
  }
  return out;
}

function staticScales(scale: number | Float32Array, scaleCount: number): Float32Array {
  if (typeof scale === 'number') return new Float32Array(scaleCount).fill(scale);
  check(scale.length === scaleCount, 'spec.scaling.scale', scale, `one scale per tile: a Float32Array of ${scaleCount}`);
  return scale.slice();
}

function checkLength(values: Float32Array, shape: readonly number[], layout: ScaleLayout): void {
  const size = layout.rows * layout.cols;
  check(values.length === size, 'values.length', values.length, `${size}, the size of shape ${describe(shape)}`);
}

function checkScaleSource(scaling: unknown): asserts scaling is ScaleSource {
  const kind = (scaling as { kind?: unknown } | null)?.kind;
  check(
    scaling instanceof DelayedScaling || kind === 'static' || kind === 'current',
    'spec.scaling',
    scaling,
    'staticScaling(scale), currentScaling({ margin }) or a DelayedScaling',
  );
}
