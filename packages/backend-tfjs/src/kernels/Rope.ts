import type { KernelConfig, RopeAttrs, RopeInputs } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../base.js';

/** cos and sin of θ_i · position, (T, D/2), computed on the host in f64 like the reference, then uploaded. */
function angles(T: number, D: number, base: number, offset: number, inverse: boolean): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = D / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (offset + t) * base ** (-(2 * i) / D);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = inverse ? -Math.sin(angle) : Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [T, half]), sin: tf.tensor2d(sin, [T, half]) };
}

/** Rotate-half RoPE on (B, H, T, D): pairs (i, i + D/2) turn by θ_i · position. */
export const ropeConfig: KernelConfig = {
  kernelName: 'Rope',
  kernelFunc: ({
    inputs: { x },
    attrs: { base, offset, inverse },
    backend,
  }: {
    inputs: RopeInputs;
    attrs: RopeAttrs;
    backend: TfjsBackend;
  }) => {
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
  },
};
