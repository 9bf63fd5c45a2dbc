/**
 * Inference-only GPT forward with a KV cache, built from a Gpt's own modules (gpt.ts is untouched):
 * prefill a prompt once, then feed one token per step. Several sequences step together, each
 * bringing any number of new tokens (a prompt being prefilled beside sequences decoding one token):
 * their rows are laid end to end, every Linear (q, k, v, out, MLP) runs once on all of them, and
 * attention runs per sequence against that sequence's cache, so nothing is padded.
 */

import type { Block, CausalSelfAttention } from '@octet/core';
import { check, keep, op, type Tensor, tidy } from '@octet/core';
import type { Gpt, GptConfig } from './gpt.js';

/** One sequence's cached keys (after RoPE) and values: per layer (1, H, length, D) f32 tensors. */
export interface GptKvCache {
  length: number;
  keys: Tensor[];
  values: Tensor[];
}

export interface GptDecodeResult {
  /** Logits of every new position, (T, vocab); only the last position's (vocab) from `step`. */
  logits: Float32Array;
  /** The extended cache (the one passed in is consumed). */
  cache: GptKvCache;
}

/** New tokens for one sequence, after what its cache holds (a new sequence when the cache is omitted). */
export interface GptStepItem {
  tokens: readonly number[];
  cache?: GptKvCache;
}

/**
 * Checks a batched step's sequences against the model: at least one, each bringing at least one
 * token id in the vocabulary, none growing past the context. Errors name the item.
 */
export function checkStepItems(items: readonly { tokens: readonly number[]; cache: { length: number } }[], config: GptConfig): void {
  const { contextLength, vocabSize: V } = config;
  check(items.length > 0, 'decode batch', '[]', 'at least one sequence');
  for (const [i, { tokens, cache }] of items.entries()) {
    check(tokens.length > 0, `batch item ${i} tokens`, '[]', 'at least one token id');
    const length = cache.length + tokens.length;
    check(length <= contextLength, `batch item ${i} length`, length, `at most the context length ${contextLength}`);
    for (const id of tokens) check(Number.isInteger(id) && id >= 0 && id < V, `batch item ${i} token id`, id, `an integer in [0, ${V})`);
  }
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

  /** Runs `tokens` after what `cache` holds (a new sequence when omitted); logits of every new position. */
  async prefill(tokens: readonly number[], cache: GptKvCache = this.emptyCache()): Promise<GptDecodeResult> {
    const [result] = await this.run([{ tokens, cache }], false);
    return result!;
  }

  /** One decode step for several sequences: token i follows cache i. */
  decode(steps: readonly { token: number; cache: GptKvCache }[]): Promise<GptDecodeResult[]> {
    return this.run(
      steps.map(({ token, cache }) => ({ tokens: [token], cache })),
      true,
    );
  }

  /**
   * One batched forward for sequences bringing different numbers of tokens (prompts to prefill
   * and sequences decoding, together); returns each one's next-token logits (vocab) and new cache.
   */
  step(items: readonly GptStepItem[]): Promise<GptDecodeResult[]> {
    return this.run(
      items.map(({ tokens, cache }) => ({ tokens, cache: cache ?? this.emptyCache() })),
      true,
    );
  }

  /** Frees a cache's tensors. */
  release(cache: GptKvCache): void {
    for (const t of [...cache.keys, ...cache.values]) t.dispose();
    cache.keys = [];
    cache.values = [];
  }

  /**
   * The forward under prefill, decode and step. Rows of all items lie end to end in one (1, N, C)
   * activation; `lastOnly` runs the head on each item's last row only (all a sampler needs).
   */
  private async run(items: readonly { tokens: readonly number[]; cache: GptKvCache }[], lastOnly: boolean): Promise<GptDecodeResult[]> {
    const { vocabSize: V, layers } = this.config;
    checkStepItems(items, this.config);
    const offsets: number[] = [];
    let N = 0;
    for (const { tokens } of items) {
      offsets.push(N);
      N += tokens.length;
    }
    const rows = items.map(({ tokens, cache }, b) => ({ offset: offsets[b]!, count: tokens.length, cache }));
    const next: GptKvCache[] = items.map(({ tokens, cache }) => ({ length: cache.length + tokens.length, keys: [], values: [] }));
    const logits = tidy(() => {
      let h = this.model.embedding.apply(op.tensor(Int32Array.from(items.flatMap((item) => item.tokens)), [1, N])); // (1, N, C)
      for (let l = 0; l < layers; l++) {
        const block = this.model.blocks[l]!;
        const attend = (x: Tensor) => this.attention(block.attention, x, l, rows, next);
        h = this.block(block, h, attend);
      }
      h = this.model.finalNorm.apply(h);
      if (lastOnly) {
        const last = Int32Array.from(rows, ({ offset, count }) => offset + count - 1);
        h = op.gather(op.reshape(h, [N, h.shape[2]!]), op.tensor(last, [rows.length]));
      }
      return keep(this.model.head.apply(h)); // (1, N, V), or (items, V) with lastOnly
    });
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    for (const { cache } of items) this.release(cache);
    return next.map((cache, b) => {
      const { offset, count } = rows[b]!;
      const logitsOf = lastOnly ? values.slice(b * V, (b + 1) * V) : values.slice(offset * V, (offset + count) * V);
      return { logits: logitsOf, cache };
    });
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
    rows: readonly { offset: number; count: number; cache: GptKvCache }[],
    next: GptKvCache[],
  ): Tensor {
    const [, N, C] = x.shape as [number, number, number];
    const { heads: H, ropeBase, scoreScale } = attention.options;
    const D = attention.headDim;
    const heads = (t: Tensor) => op.transpose(op.reshape(t, [1, N, H, D]), [0, 2, 1, 3]); // (1, H, N, D)
    const q = heads(attention.q.apply(x));
    const k = heads(attention.k.apply(x));
    const v = heads(attention.v.apply(x));
    const outputs = rows.map(({ offset, count, cache }, b) => {
      const own = (t: Tensor) => (rows.length === 1 ? t : op.slice(t, [0, 0, offset, 0], [1, H, count, D])); // (1, H, T, D)
      const rope = { base: ropeBase, offset: cache.length };
      const ownQ = op.rope(own(q), rope);
      const newKeys = op.rope(own(k), rope);
      const keys = cache.length > 0 ? op.concat([cache.keys[layer]!, newKeys], 2) : newKeys; // (1, H, L+T, D)
      const values = cache.length > 0 ? op.concat([cache.values[layer]!, own(v)], 2) : own(v);
      next[b]!.keys.push(keep(keys));
      next[b]!.values.push(keep(values));
      const scores = op.mulScalar(op.matMul(ownQ, keys, false, true), scoreScale); // (1, H, T, L+T)
      return op.matMul(op.softmax(scores, { causal: true }), values); // (1, H, T, D)
    });
    const y = outputs.length === 1 ? outputs[0]! : op.concat(outputs, 2); // (1, H, N, D)
    return attention.out.apply(op.reshape(op.transpose(y, [0, 2, 1, 3]), [1, N, C]));
  }
}
