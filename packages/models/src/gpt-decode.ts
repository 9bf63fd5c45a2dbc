/**
 * Inference with a KV cache: the Gpt's own forward (`Gpt.forward` with a cache); this file and
 * kv-layout.ts only decide where keys and values live. Prefill a prompt once, then feed one token
 * per step. Several sequences step together, each bringing any number of new tokens (a prompt
 * being prefilled beside sequences decoding one token). Their rows lie end to end, so every Linear
 * (q, k, v, out, MLP) runs once on all of them. Attention runs batched too: sequences bringing the
 * same number of tokens form a group (all the decoding ones, usually), one batch entry per
 * sequence, against a cache block holding their keys and values; so the kernels per step do not
 * grow with the number of sequences, and nothing is padded.
 */

import type { AttentionCache, CausalSelfAttention } from '@octet/core';
import { check, checkStepItems, keep, op, type Tensor, tidy } from '@octet/core';
import type { Gpt, GptCache } from './gpt.js';
import { GptKvCache, KvBlock, planStep, type StepLayout } from './kv-layout.js';

export { GptKvCache };

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

export class GptDecoder {
  constructor(readonly model: Gpt) {
    model.setTraining(false);
  }

  get config() {
    return this.model.config;
  }

  emptyCache(): GptKvCache {
    return new GptKvCache(null, 0);
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

  /** Frees a cache (its block goes when the last cache in it does); releasing twice is harmless. */
  release(cache: GptKvCache): void {
    const { block } = cache;
    cache.block = null;
    cache.released = true;
    block?.release();
  }

  /**
   * The forward under prefill, decode and step. Rows of all items lie end to end in one (1, N, C)
   * activation; `lastOnly` runs the head on each item's last row only (all a sampler needs).
   */
  private async run(items: readonly { tokens: readonly number[]; cache: GptKvCache }[], lastOnly: boolean): Promise<GptDecodeResult[]> {
    const { vocabSize: V, dim: C } = this.config;
    checkStepItems(items, this.config);
    const held = items.map(({ cache }) => cache);
    for (const [i, { cache }] of items.entries()) {
      check(!cache.released, `batch item ${i} cache`, 'released or consumed by an earlier step', 'the cache its last step returned');
    }
    check(new Set(held).size === held.length, 'decode batch caches', 'the same cache twice', 'one cache per sequence');
    const keys: Tensor[] = [];
    const values: Tensor[] = [];
    const counts = items.map(({ tokens }) => tokens.length);
    let layoutRows: Pick<StepLayout, 'firstRows' | 'blockRows' | 'slots'> = { firstRows: [], blockRows: [], slots: [] };
    let output: Float32Array;
    try {
      const logits = tidy(() => {
        const layout = planStep(items, this.config.heads);
        layoutRows = layout;
        const ids = layout.groups.flatMap((group) => group.members.flatMap((i) => items[i]!.tokens));
        const last = Int32Array.from(items, (_, i) => layout.firstRows[i]! + counts[i]! - 1);
        const cache: GptCache = {
          layer: (l) => this.attentionCache(l, layout, keys, values),
          ...(lastOnly ? { headRows: (h: Tensor) => op.gather(op.reshape(h, [layout.N, C]), op.tensor(last, [items.length])) } : {}),
        };
        // (1, N, V), or (items, V) with lastOnly
        return keep(this.model.forward(op.tensor(Int32Array.from(ids), [1, layout.N]), undefined, cache));
      });
      try {
        output = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
    } catch (error) {
      for (const t of [...keys, ...values]) t.dispose();
      throw error;
    } finally {
      // The caches given are consumed, whether the step succeeds or not.
      for (const { cache } of items) this.release(cache);
    }
    const { firstRows, blockRows, slots } = layoutRows;
    const block = new KvBlock(keys, values, slots);
    block.references = items.length;
    return items.map((_, i) => {
      const first = firstRows[i]!;
      const logitsOf = lastOnly ? output.slice(i * V, (i + 1) * V) : output.slice(first * V, (first + counts[i]!) * V);
      return { logits: logitsOf, cache: new GptKvCache(block, blockRows[i]!) };
    });
  }

  /** Layer `layer`'s attention cache for this step: attends group by group and keeps the new block's keys and values. */
  private attentionCache(layer: number, layout: StepLayout, keys: Tensor[], values: Tensor[]): AttentionCache {
    return { attend: (attention, q, k, v) => this.attend(attention, [q, k, v], layer, layout, keys, values) };
  }

  /**
   * The attention over cached keys and values, group by group, every sequence a batch entry, of
   * the new rows' q, k, v (1, N, C); pushes this layer's keys (after RoPE) and values for the new
   * block, (rows, H, slots, D), and returns the heads merged (1, N, C).
   */
  private attend(
    attention: CausalSelfAttention,
    projections: Tensor[],
    layer: number,
    layout: StepLayout,
    keys: Tensor[],
    values: Tensor[],
  ): Tensor {
    const { N, groups, capacity } = layout;
    const C = projections[0]!.shape[2]!;
    const { heads: H } = attention.options;
    const D = attention.headDim;
    const [qAll, kAll, vAll] = projections.map((t) => op.reshape(t, [N, C]));
    const outputs: Tensor[] = [];
    const groupKeys: Tensor[] = [];
    const groupValues: Tensor[] = [];
    for (const group of groups) {
      const { members, T, firstRow, old } = group;
      const B = members.length;
      // The group's rows → (B, H, T, D); with one token each that is only a reshape (T = 1 moves freely).
      const heads = (t: Tensor) => {
        const rows = groups.length === 1 ? t : op.slice(t, [firstRow, 0], [B * T, C]);
        return T === 1 ? op.reshape(rows, [B, H, 1, D]) : attention.splitHeads(rows, B, T);
      };
      const extend = (kind: 'keys' | 'values', fresh: Tensor) => {
        if (old.kind === 'none') return fresh;
        if (old.kind === 'append') return op.concat([old.block[kind][layer]!, fresh], 2);
        const rows = (t: Tensor) => op.reshape(t, [t.size / D, D]);
        const table = op.concat([...old.blocks.map((block) => rows(block[kind][layer]!)), rows(fresh), op.fill([1, D], 0)], 0);
        return op.reshape(op.gather(table, old.index), [B, H, old.length + T, D]);
      };
      // With holes (T = 1): the members' (B, H, 1, D) spread to the block's rows, zeros in the holes.
      const { rows, memberRows } = group;
      let spreadIndex: Tensor | null = null;
      if (memberRows) {
        const index = new Int32Array(rows).fill(B); // a hole takes the zero row after the members'
        for (const [b, row] of memberRows.entries()) index[row] = b;
        spreadIndex = op.tensor(index, [rows]);
      }
      const spread = (t: Tensor) =>
        spreadIndex ? op.reshape(op.gather(op.concat([op.reshape(t, [B, C]), op.fill([1, C], 0)], 0), spreadIndex), [rows, H, 1, D]) : t;
      const q = spread(attention.rotate(heads(qAll!), group.lengths));
      const k = extend('keys', spread(attention.rotate(heads(kAll!), group.lengths)));
      const v = extend('values', spread(heads(vAll!)));
      groupKeys.push(k);
      groupValues.push(v);
      const y = attention.attendMasked(q, k, v, group.mask); // (rows, H, T, D)
      if (memberRows) outputs.push(op.gather(op.reshape(y, [rows, C]), op.tensor(Int32Array.from(memberRows), [B])));
      else outputs.push(op.reshape(T === 1 ? y : op.transpose(y, [0, 2, 1, 3]), [B * T, C]));
    }
    // One block for the step: groups' rows stacked, each zero-padded to the most slots.
    const stack = (parts: Tensor[]) => {
      if (parts.length === 1) return parts[0]!;
      const padded = parts.map((t) => {
        const [B, , held] = t.shape as [number, number, number, number];
        return held === capacity ? t : op.concat([t, op.fill([B, H, capacity - held, D], 0)], 2);
      });
      return op.concat(padded, 0);
    };
    keys.push(keep(stack(groupKeys)));
    values.push(keep(stack(groupValues)));
    const y = outputs.length === 1 ? outputs[0]! : op.concat(outputs, 0);
    return op.reshape(y, [1, N, C]);
  }
}
