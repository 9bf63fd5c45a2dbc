/**
 * A flat view of a tensor as rows of `blockSize` elements (the last block zero-padded), the layout
 * every block-scaled codec computes its per-block statistics on, and back.
 */
import { op, sizeOf, type Tensor } from '@octet/core';

/** Blocks of `blockSize` consecutive elements of a tensor of `size` elements. */
export const blockCount = (size: number, blockSize: number): number => Math.ceil(size / blockSize);

/** x (any shape) as (blocks, blockSize) rows, the last one padded with zeros. */
export function asBlocks(x: Tensor, blockSize: number): Tensor {
  const blocks = blockCount(x.size, blockSize);
  const flat = op.reshape(x, [x.size]);
  const padding = blocks * blockSize - x.size;
  const padded = padding > 0 ? op.concat([flat, op.zeros([padding])], 0) : flat;
  return op.reshape(padded, [blocks, blockSize]);
}

/** The first sizeOf(shape) elements of `blocks`, as `shape` (the inverse of `asBlocks`). */
export function fromBlocks(blocks: Tensor, shape: readonly number[]): Tensor {
  const size = sizeOf(shape);
  const flat = op.reshape(blocks, [blocks.size]);
  return op.reshape(blocks.size > size ? op.slice(flat, [0], [size]) : flat, shape);
}
