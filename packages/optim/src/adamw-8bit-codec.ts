/**
 * Block-wise codebook quantization (bitsandbytes' 8-bit optimizers; thu-ml's 4-bit first moment):
 * each block of `blockSize` consecutive elements is divided by its absmax, and each quotient becomes
 * the code of its nearest map entry by float32 midpoints (the MapQuantize kernel), 8 or 4 bits per
 * element. State: the codes (uint8, packed two per byte for 4 bits) and the absmax per block (f32).
 * A block of zeros divides 0 by 0: its NaNs take code 0, which decodes to map[0] · 0 = 0.
 */
import { op, sizeOf, type Tensor } from '@octet/core';
import { asBlocks, blockCount, fromBlocks } from './block-layout.js';
import type { MomentCodec } from './compressed-adamw.js';

export function blockwiseCodec(map: Float32Array, blockSize: number, bits: 4 | 8 = 8): MomentCodec {
  // The map goes up with each call (at most 1 KiB): nothing stays on the device between steps.
  const codebook = () => op.tensor(map, [map.length]);
  return {
    layout: (shape) => ({
      codes: { dtype: 'uint8', shape: [Math.ceil((sizeOf(shape) * bits) / 8)] },
      absmax: { dtype: 'float32', shape: [blockCount(sizeOf(shape), blockSize)] },
    }),
    encode: (values) => {
      const blocks = asBlocks(values, blockSize); // (blocks, blockSize)
      const absmax = op.amax(blocks, 1, true); // (blocks, 1)
      const normalized = fromBlocks(op.div(blocks, absmax), [values.size]);
      return { codes: op.mapQuantize(normalized, codebook(), bits), absmax: op.reshape(absmax, [absmax.size]) };
    },
    decode: ({ codes, absmax }, shape) => {
      const normalized: Tensor = op.mapDequantize(codes!, codebook(), [sizeOf(shape)], bits);
      return fromBlocks(op.mul(asBlocks(normalized, blockSize), op.reshape(absmax!, [absmax!.size, 1])), shape);
    },
  };
}
