import { Rope, type RopeAttrs, ropeTable } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/**
 * cos and sin of θ_i · position, (E, 1, T, D/2) to broadcast over (B, H, T, D/2): E is 1, or B with
 * an offset per batch entry. Core's table (as every backend), uploaded.
 */
function angles(T: number, D: number, base: number, offset: RopeAttrs['offset'], inverse: boolean): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = D / 2;
  const entries = typeof offset === 'number' ? 1 : offset.length;
  const table = ropeTable(T, D, base, offset, inverse);
  const shape: [number, number, number, number] = [entries, 1, T, half];
  const rows = entries * T * half;
  return { cos: tf.tensor4d(table.subarray(0, rows), shape), sin: tf.tensor4d(table.subarray(rows), shape) };
}

/** Rotate-half RoPE on (B, H, T, D): pairs (i, i + D/2) turn by θ_i · position. */
export const ropeConfig = defineTfjsKernel(Rope, ({ inputs: { x }, attrs: { base, offset, inverse }, backend }) => {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  const half = D / 2;
  return backend.run('float32', () => {
    const { cos, sin } = angles(T, D, base, offset, inverse);
    const t = backend.handle(x);
    const x1 = tf.slice(t, [0, 0, 0, 0], [B, H, T, half]);
    const x2 = tf.slice(t, [0, 0, 0, half], [B, H, T, half]);
    const out1 = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin));
    const out2 = tf.add(tf.mul(x2, cos), tf.mul(x1, sin));
    return tf.concat([out1, out2], 3);
  });
});
