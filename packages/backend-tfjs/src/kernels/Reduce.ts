import { Reduce } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** max over `axes` that is NaN wherever a NaN was reduced (the wasm engine's tf.max may skip it). */
export function maxPropagatingNaN(x: tf.Tensor, axes: number[], keepDims: boolean): tf.Tensor {
  const max = tf.max(x, axes, keepDims);
  return tf.where(tf.any(tf.isNaN(x), axes, keepDims), tf.fill(max.shape, Number.NaN), max);
}

export const reduceConfig = defineTfjsKernel(Reduce, ({ inputs: { x }, attrs: { op, axes, keepDims }, backend }) => {
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return backend.run(
    'float32',
    () => {
      let t = backend.handle(x);
      if (op === 'amax') t = tf.abs(t);
      if (axes.length === 0) return t;
      return op === 'sum' ? tf.sum(t, axes, keepDims) : maxPropagatingNaN(t, axes, keepDims);
    },
    shape,
  );
});
