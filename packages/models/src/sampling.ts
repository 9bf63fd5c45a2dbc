/**
 * Next-token sampling as OpenAI-compatible servers do it: temperature 0 is greedy (argmax);
 * otherwise logits / temperature, keep the top_k most likely tokens, then the smallest set whose
 * probability reaches top_p, and draw from a seeded generator (the same seed gives the same text).
 */
import type { Random } from '@octet/core';

export interface SamplingOptions {
  temperature: number;
  topP: number;
  /** 0 (or -1) keeps every token. */
  topK: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

const bits = new Uint32Array(1);
const float = new Float32Array(bits.buffer);

/**
 * Token ids by descending logit, ties in id order (what a stable sort by `b − a` gives). Sorted as
 * numbers with no comparator: each key is the logit's f32 bits mapped to an unsigned integer in
 * descending order, times the vocabulary, plus the id (exact in f64 up to 2^21 tokens).
 */
function descendingOrder(logits: Float32Array): Uint32Array {
  const V = logits.length;
  if (V > 2 ** 21) return Uint32Array.from(Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!));
  const keys = new Float64Array(V);
  for (let i = 0; i < V; i++) {
    float[0] = logits[i]! + 0; // −0 sorts with 0, as `b − a` has them equal
    const u = bits[0]!;
    // f32 bits → an unsigned integer that grows as the value falls (negatives: bits as they are).
    const descending = u & 0x80000000 ? u : (~u >>> 0) & 0x7fffffff;
    keys[i] = descending * V + i;
  }
  keys.sort();
  const order = new Uint32Array(V);
  for (let i = 0; i < V; i++) order[i] = keys[i]! % V;
  return order;
}

export function sampleToken(logits: Float32Array, { temperature, topP, topK }: SamplingOptions, random: Random): number {
  if (temperature === 0) return argmax(logits);
  let order = descendingOrder(logits);
  if (topK > 0) order = order.subarray(0, topK);
  const top = logits[order[0]!]!;
  const weights = new Float64Array(order.length);
  for (let j = 0; j < order.length; j++) weights[j] = Math.exp((logits[order[j]!]! - top) / temperature);
  let total = 0;
  for (const w of weights) total += w;
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
  let keptTotal = 0;
  for (let j = 0; j < kept; j++) keptTotal += weights[j]!;
  let u = random.next() * keptTotal;
  for (let j = 0; j < kept; j++) {
    u -= weights[j]!;
    if (u < 0) return order[j]!;
  }
  return order[kept - 1]!;
}
