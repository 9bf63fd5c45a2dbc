import { Random } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { argmax, sampleToken } from '../src/sampling.js';

/** The straightforward version (sort the ids with a comparator): the fast one must pick the same tokens. */
function sampleBySorting(
  logits: Float32Array,
  { temperature, topP, topK }: { temperature: number; topP: number; topK: number },
  random: Random,
): number {
  if (temperature === 0) return argmax(logits);
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  if (topK > 0) order = order.slice(0, topK);
  const top = logits[order[0]!]!;
  const weights = order.map((i) => Math.exp((logits[i]! - top) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let kept = order.length;
  if (topP < 1) {
    let mass = 0;
    for (let j = 0; j < order.length; j++) {
      mass += weights[j]! / total;
      if (mass >= topP) {
        kept = j + 1;
        break;
      }
    }
  }
  const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  let u = random.next() * keptTotal;
  for (let j = 0; j < kept; j++) {
    u -= weights[j]!;
    if (u < 0) return order[j]!;
  }
  return order[kept - 1]!;
}

describe('sampleToken', () => {
  it('picks what sorting the ids would pick, ties, ±0 and infinities included, for every option', () => {
    const random = new Random(3);
    for (let trial = 0; trial < 300; trial++) {
      const V = [2, 7, 256, 1000][trial % 4]!;
      // Few distinct values (many ties) in some trials, a wide spread in others.
      const logits = Float32Array.from({ length: V }, () =>
        trial % 3 === 0 ? Math.round(random.next() * 4) - 2 : (random.next() - 0.5) * 20,
      );
      if (V > 5) logits.set([-0, 0, Number.NEGATIVE_INFINITY], 1);
      if (trial % 7 === 0) logits[0] = Number.POSITIVE_INFINITY;
      const options = { temperature: [1, 0.7, 2][trial % 3]!, topP: [1, 0.9, 0.5][trial % 3]!, topK: [0, 5, 40, -1][trial % 4]! };
      for (let seed = 0; seed < 5; seed++) {
        expect(sampleToken(logits, options, new Random(seed))).toBe(sampleBySorting(logits, options, new Random(seed)));
      }
    }
  });

  it('is greedy at temperature 0', () => {
    expect(sampleToken(Float32Array.from([0.1, 3, -2, 3]), { temperature: 0, topP: 1, topK: 0 }, new Random(1))).toBe(1);
  });
});
