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

export function sampleToken(logits: Float32Array, { temperature, topP, topK }: SamplingOptions, random: Random): number {
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
