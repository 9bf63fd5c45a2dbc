import { ScaleFromAmax } from '@octet/core';
import { defineCpuKernel, output, values } from '../base.js';

/** TransformerEngine's scale update, in f32 steps so every backend lands on the same scale. */
export const scaleFromAmaxConfig = defineCpuKernel(ScaleFromAmax, ({ inputs: { amaxHistory }, attrs }) => {
  const history = values(amaxHistory);
  let amax = attrs.reduce === 'max' ? 0 : history[0]!;
  if (attrs.reduce === 'max') for (let i = 0; i < history.length; i++) amax = Math.max(amax, history[i]!);
  let scale = 1;
  if (amax > 0 && Number.isFinite(amax)) {
    scale = Math.fround(Math.fround(attrs.fp8Max / amax) / 2 ** attrs.margin);
    if (attrs.powerOfTwo) scale = powerOfTwoBelow(scale);
    if (!Number.isFinite(scale) || scale === 0) scale = 1;
  }
  return output(new Float32Array([scale]), []);
});

const f32 = new Float32Array(1);
const bits = new Uint32Array(f32.buffer);

/** Largest power of two ≤ x, read off the f32 exponent field (exact, unlike log2). */
function powerOfTwoBelow(x: number): number {
  f32[0] = x;
  bits[0] = bits[0]! & 0xff800000;
  return f32[0]!;
}
