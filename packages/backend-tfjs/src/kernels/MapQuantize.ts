import { MapQuantize, sizeOf } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/**
 * #{ j : t_j < x } over the midpoints t_j = f32(f32(map[j] + map[j + 1]) · 0.5), by a branchless
 * binary search: with the thresholds padded by +inf to 2^k − 1 entries (2^k ≥ map length), k gathers
 * each add a step of 2^(k−1), …, 1 where the probed threshold is below x. Comparisons with NaN are
 * false, so NaN gets 0. Each step runs in its own tidy, so memory stays a few tensors of x's size
 * (a count over all thresholds would hold n × 255 at once).
 */
function codes(x: tf.Tensor, map: tf.Tensor): tf.Tensor {
  const entries = map.shape[0]!;
  let width = 1;
  while (width < entries) width *= 2;
  // The midpoints are computed on the engine (kernels do not read back); f32 + and · are correctly rounded.
  const thresholds = tf.concat([
    tf.mul(tf.add(tf.slice(map, 0, entries - 1), tf.slice(map, 1, entries - 1)), tf.scalar(0.5)),
    tf.fill([width - entries], Number.POSITIVE_INFINITY),
  ]);
  let position = tf.zeros(x.shape, 'int32');
  for (let step = width / 2; step >= 1; step /= 2) {
    const previous = position;
    position = tf.tidy(() => {
      const below = tf.less(tf.gather(thresholds, tf.add(previous, tf.scalar(step - 1, 'int32'))), x);
      return tf.where(below, tf.add(previous, tf.scalar(step, 'int32')), previous);
    });
    previous.dispose();
  }
  return position;
}

/** Codes as int32 (tfjs's storage for uint8); 4-bit codes two to a byte, element 2i in the low nibble. */
export const mapQuantizeConfig = defineTfjsKernel(MapQuantize, ({ inputs: { x, map }, attrs: { bits }, backend }) => {
  const n = sizeOf(x.shape);
  const bytes = Math.ceil((n * bits) / 8);
  return backend.run('uint8', () => {
    const code = codes(tf.reshape(backend.handle(x), [-1]), backend.handle(map));
    if (bits === 8) return code;
    const pairs = tf.reshape(tf.pad(code, [[0, 2 * bytes - n]]), [bytes, 2]);
    const low = tf.slice(pairs, [0, 0], [bytes, 1]);
    const high = tf.slice(pairs, [0, 1], [bytes, 1]);
    return tf.reshape(tf.add(low, tf.mul(high, tf.scalar(16, 'int32'))), [bytes]);
  }, [bytes]);
});
