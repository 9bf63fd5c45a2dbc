import { ScaleFromAmax } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';
import { powerOfTwoBelow } from '../fp8-emulation.js';
import { maxPropagatingNaN } from './Reduce.js';

/** TransformerEngine's scale update on the device, in the same f32 steps as the reference, so every backend lands on the same scale. */
export const scaleFromAmaxConfig = defineTfjsKernel(ScaleFromAmax, ({ inputs: { amaxHistory }, attrs, backend }) =>
  backend.run('float32', () => {
    const history = tf.reshape(backend.handle(amaxHistory), [-1]);
    // 'max' starts from 0, as the reference does: an all-negative history gives amax 0, hence scale 1.
    const amax =
      attrs.reduce === 'max'
        ? maxPropagatingNaN(tf.concat([tf.zeros([1]), history]), [0], false)
        : tf.reshape(tf.slice(history, [0], [1]), []);
    const valid = tf.logicalAnd(tf.greater(amax, 0), tf.isFinite(amax));
    const raw = tf.div(tf.div(attrs.fp8Max, tf.where(valid, amax, tf.onesLike(amax))), 2 ** attrs.margin);
    const scale = attrs.powerOfTwo ? powerOfTwoBelow(backend, raw) : raw;
    // An infinite scale stays unusable after rounding down to a power of two.
    const usable = tf.logicalAnd(valid, tf.logicalAnd(tf.isFinite(raw), tf.notEqual(scale, 0)));
    return tf.where(usable, scale, tf.onesLike(scale));
  }, []),
);
