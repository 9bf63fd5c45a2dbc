import { MapDequantize, sizeOf } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** map[code] by tf.gather on the map padded with NaN to 2^bits entries, so a code with no entry reads NaN. */
export const mapDequantizeConfig = defineTfjsKernel(MapDequantize, ({ inputs: { codes, map }, attrs: { bits, shape }, backend }) => {
  const n = sizeOf(shape);
  return backend.run(
    'float32',
    () => {
      let code = tf.reshape(backend.handle(codes), [-1]);
      if (bits === 4) {
        // Byte b = low + 16 · high holds elements 2b (low) and 2b + 1 (high).
        const high = tf.floorDiv(code, tf.scalar(16, 'int32'));
        const low = tf.sub(code, tf.mul(high, tf.scalar(16, 'int32')));
        code = tf.slice(tf.reshape(tf.stack([low, high], 1), [-1]), 0, n);
      }
      const entries = map.shape[0]!;
      const table = tf.concat([backend.handle(map), tf.fill([2 ** bits - entries], Number.NaN)]);
      return tf.reshape(tf.gather(table, code), [...shape]);
    },
    shape,
  );
});
