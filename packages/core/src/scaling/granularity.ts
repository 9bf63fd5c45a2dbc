/**
 * Scaling granularity: which elements share one scale.
 *
 * Every granularity is a tiling of the tensor seen as a matrix [rows, cols], where cols is
 * the last dimension and rows the product of all leading dimensions (a [B, T, C] activation
 * is [B·T, C]; a vector [n] is [1, n]; a scalar is [1, 1]). Each tile gets one scale:
 * - per tensor: one tile, the whole matrix;
 * - per row: tiles [1, cols] (one scale per token of an activation, per output row of a weight);
 * - per column: tiles [rows, 1];
 * - per block: tiles [tileRows, tileCols] that must divide the matrix exactly (1×128 for
 *   activations and gradients, 128×128 for weights, as DeepSeek-V3 and TransformerEngine's
 *   Float8BlockScaling use);
 * - MX: tiles of 32 consecutive elements along the last axis with power-of-two (e8m0) scales,
 *   as the OCP Microscaling spec defines.
 * Scales are stored row-major with shape [rows / tileRows, cols / tileCols].
 */
import { check, describe } from '../errors.js';

export type Granularity =
  | { readonly kind: 'tensor' }
  | { readonly kind: 'row' }
  | { readonly kind: 'column' }
  | { readonly kind: 'block'; readonly tile: readonly [rows: number, cols: number] }
  | { readonly kind: 'mx'; readonly blockSize: 32 };

export const PER_TENSOR: Granularity = Object.freeze({ kind: 'tensor' });
export const PER_ROW: Granularity = Object.freeze({ kind: 'row' });
export const PER_COLUMN: Granularity = Object.freeze({ kind: 'column' });
/** OCP MX: 32 consecutive elements along the last axis share one e8m0 scale. */
export const MX_BLOCK: Granularity = Object.freeze({ kind: 'mx', blockSize: 32 });

/** Tiles of [tileRows, tileCols] elements of the [rows, cols] matrix share one scale. */
export function perBlock(tileRows: number, tileCols: number): Granularity {
  check(Number.isInteger(tileRows) && tileRows > 0, 'tileRows', tileRows, 'a positive integer');
  check(Number.isInteger(tileCols) && tileCols > 0, 'tileCols', tileCols, 'a positive integer');
  return Object.freeze({ kind: 'block', tile: Object.freeze([tileRows, tileCols] as const) });
}

/** 1×128 tiles: activations and gradients in DeepSeek-V3 and TE's Float8BlockScaling. */
export const BLOCK_1X128 = perBlock(1, 128);
/** 128×128 tiles: weights in DeepSeek-V3 (one `weight_scale_inv` per block) and TE's Float8BlockScaling. */
export const BLOCK_128X128 = perBlock(128, 128);

/** A granularity applied to one shape: the matrix view and its tiling. */
export interface ScaleLayout {
  /** Product of the leading dimensions. */
  readonly rows: number;
  /** The last dimension. */
  readonly cols: number;
  readonly tileRows: number;
  readonly tileCols: number;
  /** Number of tiles down and across: the shape of the scales. */
  readonly scaleRows: number;
  readonly scaleCols: number;
}

/** Checks `shape` (non-negative integers) and returns its [rows, cols] matrix view. */
export function matrixView(shape: readonly number[], argument = 'shape'): { rows: number; cols: number } {
  check(
    Array.isArray(shape) && shape.every((dim) => Number.isInteger(dim) && dim >= 0),
    argument,
    shape,
    'an array of non-negative integers',
  );
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((product, dim) => product * dim, 1);
  return { rows, cols };
}

export function isGranularity(value: unknown): value is Granularity {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  if (kind === 'tensor' || kind === 'row' || kind === 'column') return true;
  if (kind === 'mx') return (value as { blockSize?: unknown }).blockSize === 32;
  if (kind !== 'block') return false;
  const tile = (value as { tile?: unknown }).tile;
  return Array.isArray(tile) && tile.length === 2 && tile.every((dim) => Number.isInteger(dim) && dim > 0);
}

/** Tiles `shape` by `granularity`, or throws an OctetArgumentError if the tiles do not fit. */
export function scaleLayout(shape: readonly number[], granularity: Granularity, argument = 'granularity'): ScaleLayout {
  check(isGranularity(granularity), argument, granularity, 'PER_TENSOR, PER_ROW, PER_COLUMN, MX_BLOCK or perBlock(tileRows, tileCols)');
  const { rows, cols } = matrixView(shape);
  let tileRows: number;
  let tileCols: number;
  switch (granularity.kind) {
    case 'tensor':
      [tileRows, tileCols] = [Math.max(rows, 1), Math.max(cols, 1)];
      break;
    case 'row':
      [tileRows, tileCols] = [1, Math.max(cols, 1)];
      break;
    case 'column':
      [tileRows, tileCols] = [Math.max(rows, 1), 1];
      break;
    case 'mx':
      [tileRows, tileCols] = [1, granularity.blockSize];
      break;
    case 'block':
      [tileRows, tileCols] = granularity.tile;
      break;
  }
  check(
    rows % tileRows === 0 && cols % tileCols === 0,
    `${argument} tile`,
    [tileRows, tileCols],
    `a tile that divides [rows, cols] = [${rows}, ${cols}], the matrix view of shape ${describe(shape)}`,
  );
  if (granularity.kind === 'tensor') return { rows, cols, tileRows, tileCols, scaleRows: 1, scaleCols: 1 };
  return { rows, cols, tileRows, tileCols, scaleRows: rows / tileRows, scaleCols: cols / tileCols };
}
