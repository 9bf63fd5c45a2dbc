import { Softmax } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** Key j is visible to query i when j ≤ i + (Tk - Tq): a (Tq, Tk) boolean mask. */
export function causalMask(queries: number, keys: number): tf.Tensor {
  const rows = tf.reshape(tf.range(keys - queries, keys, 1, 'int32'), [queries, 1]);
  return tf.lessEqual(tf.range(0, keys, 1, 'int32'), rows);
}

/** Masked keys get exactly 0, even in a row with no visible key. */
export const softmaxConfig = defineTfjsKernel(Softmax, ({ inputs: { x }, attrs: { causal }, backend }) =>
  backend.run('float32', () => {
    let t = backend.handle(x);
    const rank = x.shape.length;
    const mask = causal ? causalMask(x.shape[rank - 2]!, x.shape[rank - 1]!) : null;
    if (mask) t = tf.where(mask, t, tf.fill(t.shape, Number.NEGATIVE_INFINITY));
    const e = tf.exp(tf.sub(t, tf.max(t, -1, true)));
    const p = tf.div(e, tf.sum(e, -1, true));
    return mask ? tf.where(mask, p, tf.zerosLike(p)) : p;
  }),
);
