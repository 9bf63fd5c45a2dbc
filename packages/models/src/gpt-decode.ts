/**
 * Inference-only GPT forward with a KV cache, built from a Gpt's own modules (gpt.ts is untouched):
 * prefill a prompt once, then feed one token per step. Several sequences step together: every
 * Linear (q, k, v, out, MLP, head) runs once on all of their rows, and attention runs per sequence
 * against that sequence's cache, so sequences of different lengths need no padding.
 */

import type { Block, CausalSelfAttention } from '@octet/core';
import { check, keep, op, type Tensor, tidy } from '@octet/core';
import type { Gpt } from './gpt.js';

/** One sequence's cached keys (after RoPE) and values: per layer (1, H, length, D) f32 tensors. */
export interface GptKvCache {
  length: number;
  keys: Tensor[];
  values: Tensor[];
}

export interface GptDecodeResult {
  /** Logits of every new position, (T, vocab). */
  logits: Float32Array;
  /** The extended cache (the one passed in is consumed). */
  cache: GptKvCache;
}

export class GptDecoder {
  private readonly skipWeight: number;
  private readonly branchWeight: number;

  constructor(readonly model: Gpt) {
    model.setTraining(false);
    const { tau } = model.recipe;
    this.skipWeight = 1 / Math.sqrt(1 + tau * tau);
    this.branchWeight = tau / Math.sqrt(1 + tau * tau);
  }

  get config() {
    return this.model.config;
  }

  emptyCache(): GptKvCache {
    return { length: 0, keys: [], values: [] };
  }

  /** Runs `tokens` after what `cache` holds (a new sequence when omitted). */
  async prefill(tokens: readonly number[], cache: GptKvCache = this.emptyCache()): Promise<GptDecodeResult> {
    check(tokens.length > 0, 'prefill tokens', '[]', 'at least one token id');
    const [result] = await this.run([{ tokens, cache }]);
    return result!;
  }

  /** One decode step for several sequences: token i follows cache i. */
  decode(steps: readonly { token: number; cache: GptKvCache }[]): Promise<GptDecodeResult[]> {
    return this.run(steps.map(({ token, cache }) => ({ tokens: [token], cache })));
  }

  /** Frees a cache's tensors. */
  release(cache: GptKvCache): void {
    for (const t of [...cache.keys, ...cache.values]) t.dispose();
    cache.keys = [];
    cache.values = [];
  }

  private async run(items: readonly { tokens: readonly number[]; cache: GptKvCache }[]): Promise<GptDecodeResult[]> {
    const { contextLength, vocabSize: V, layers } = this.config;
    const B = items.length;
    check(B > 0, 'decode batch', '[]', 'at least one sequence');
    const T = items[0]!.tokens.length;
    for (const [i, { tokens, cache }] of items.entries()) {
      check(tokens.length === T, `batch item ${i} token count`, tokens.length, `${T} (the same for every sequence in a step)`);
      check(cache.length + T <= contextLength, `batch item ${i} length`, cache.length + T, `at most the context length ${contextLength}`);
      for (const id of tokens) check(Number.isInteger(id) && id >= 0 && id < V, `batch item ${i} token id`, id, `an integer in [0, ${V})`);
    }
    const next: GptKvCache[] = items.map(({ cache }) => ({ length: cache.length + T, keys: [], values: [] }));
    const logits = tidy(() => {
      let h = this.model.embedding.apply(op.tensor(Int32Array.from(items.flatMap((item) => item.tokens)), [B, T])); // (B, T, C)
      for (let l = 0; l < layers; l++) {
        const block = this.model.blocks[l]!;
        const attend = (x: Tensor) => this.attention(block.attention, x, l, items, next);
        h = this.block(block, h, attend);
      }
      return keep(this.model.head.apply(this.model.finalNorm.apply(h))); // (B, T, V)
    });
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    for (const { cache } of items) this.release(cache);
    return next.map((cache, b) => ({ logits: values.slice(b * T * V, (b + 1) * T * V), cache }));
  }

  /** Block.apply with attention replaced by the cached version. */
  private block(block: Block, h: Tensor, attend: (x: Tensor) => Tensor): Tensor {
    if (!block.unit) {
      const afterAttention = op.add(h, attend(block.attentionNorm.apply(h)));
      return op.add(afterAttention, block.mlp.apply(block.mlpNorm.apply(afterAttention)));
    }
    const mix = (skip: Tensor, branch: Tensor) => op.add(op.mulScalar(skip, this.skipWeight), op.mulScalar(branch, this.branchWeight));
    const afterAttention = mix(h, block.attentionNorm.apply(attend(h)));
    return mix(afterAttention, block.mlpNorm.apply(block.mlp.apply(afterAttention)));
  }

  /** CausalSelfAttention.apply over cached keys/values; appends this step's keys (after RoPE) and values to `next`. */
  private attention(
    attention: CausalSelfAttention,
    x: Tensor,
    layer: number,
    items: readonly { cache: GptKvCache }[],
    next: GptKvCache[],
  ): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const { heads: H, ropeBase, scoreScale } = attention.options;
    const D = attention.headDim;
    const heads = (t: Tensor) => op.transpose(op.reshape(t, [B, T, H, D]), [0, 2, 1, 3]); // (B, H, T, D)
    const q = heads(attention.q.apply(x));
    const k = heads(attention.k.apply(x));
    const v = heads(attention.v.apply(x));
    const outputs = items.map(({ cache }, b) => {
      const row = (t: Tensor) => op.slice(t, [b, 0, 0, 0], [1, H, T, D]); // (1, H, T, D)
      const rope = { base: ropeBase, offset: cache.length };
      const ownQ = op.rope(row(q), rope);
      const keys = cache.length > 0 ? op.concat([cache.keys[layer]!, op.rope(row(k), rope)], 2) : op.rope(row(k), rope); // (1, H, L+T, D)
      const values = cache.length > 0 ? op.concat([cache.values[layer]!, row(v)], 2) : row(v);
      next[b]!.keys.push(keep(keys));
      next[b]!.values.push(keep(values));
      const scores = op.mulScalar(op.matMul(ownQ, keys, false, true), scoreScale); // (1, H, T, L+T)
      return op.matMul(op.softmax(scores, { causal: true }), values); // (1, H, T, D)
    });
    const y = outputs.length === 1 ? outputs[0]! : op.concat(outputs, 0); // (B, H, T, D)
    return attention.out.apply(op.reshape(op.transpose(y, [0, 2, 1, 3]), [B, T, C]));
  }
}
