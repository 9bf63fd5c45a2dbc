/**
 * Inference-only GPT forward with a KV cache, built from a Gpt's own modules (gpt.ts is untouched):
 * prefill a prompt once, then feed one token per step. Several sequences step together, each
 * bringing any number of new tokens (a prompt being prefilled beside sequences decoding one token).
 * Their rows lie end to end, so every Linear (q, k, v, out, MLP) runs once on all of them; attention
 * runs batched too, one batch entry per sequence (queries zero-padded to the longest newcomer),
 * against a cache block holding every sequence's keys and values. So the kernels per step do not
 * grow with the number of sequences.
 *
 * A block's positions are slots: a step appends its new keys as T more slots for every sequence
 * (one concat), and a mask hides the slots a sequence does not own (attention does not care where a
 * key sits: RoPE was applied before caching). When the sequences change (one leaves or joins) or
 * unowned slots pile up, one gather rebuilds a compact block with each sequence's positions in order.
 */

import type { Block, CausalSelfAttention } from '@octet/core';
import { check, keep, op, type Tensor, tidy } from '@octet/core';
import type { Gpt, GptConfig } from './gpt.js';

/** Added to the attention scores of slots a query may not see: exp underflows to exactly 0. */
const MASKED = -1e30;

/**
 * Keys (after RoPE) and values of several sequences, per layer (rows, H, slots, D); `slots[r]` lists
 * the slot of each of row r's positions, in order. Shared by the caches that point into it; freed
 * with the last.
 */
class KvBlock {
  references = 0;
  constructor(
    readonly keys: Tensor[],
    readonly values: Tensor[],
    readonly slots: readonly (readonly number[])[],
  ) {}

  get rows(): number {
    return this.slots.length;
  }

  get capacity(): number {
    return this.keys[0]!.shape[2]!;
  }

  release(): void {
    if (--this.references > 0) return;
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}

/** One sequence's cached positions: a row of one of the decoder's blocks (opaque; a step consumes it). */
export class GptKvCache {
  /** @internal Set when a step consumed the cache or it was released. */
  released = false;

  /** @internal */
  constructor(
    /** @internal null for an empty cache and once released. */
    public block: KvBlock | null,
    /** @internal */
    readonly row: number,
  ) {}

  /** Positions held. */
  get length(): number {
    return this.block === null ? 0 : this.block.slots[this.row]!.length;
  }
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

/**
 * Where one step's sequences sit, shared by every layer: B sequences, T = the most new tokens any
 * brings, N rows end to end.
 */
interface StepLayout {
  B: number;
  T: number;
  N: number;
  /** Per sequence: its first row among the N, and its cached length (where its positions continue). */
  offsets: number[];
  lengths: number[];
  /** The B·T rows, of the N real ones plus a zero row (N), that pad each sequence's queries to T; null when none need padding. */
  padRows: Tensor | null;
  /** The N real rows among the B·T padded ones; null when none need padding. */
  realRows: Tensor | null;
  /** How the old keys and values are assembled: the block as it is, a compacting gather, or nothing. */
  old: OldSlots;
  /** (B, 1, T, slots after the step): 0 where query t of sequence b may attend, MASKED elsewhere. */
  mask: Tensor;
  /** Per sequence, the slot of each position after the step (the new block's `slots`). */
  slots: number[][];
}

type OldSlots =
  | { kind: 'none' }
  /** The one block whose rows are this step's sequences in order: new slots are appended to it. */
  | { kind: 'append'; block: KvBlock }
  /** The blocks flattened to (rows·H·slots, D) and stacked with a zero row; `index` picks (B, H, L) of them. */
  | { kind: 'gather'; blocks: KvBlock[]; index: Tensor; length: number };

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
    const { vocabSize: V, layers } = this.config;
    checkStepItems(items, this.config);
    const held = items.map(({ cache }) => cache);
    for (const [i, { cache }] of items.entries()) {
      check(!cache.released, `batch item ${i} cache`, 'released or consumed by an earlier step', 'the cache its last step returned');
    }
    check(new Set(held).size === held.length, 'decode batch caches', 'the same cache twice', 'one cache per sequence');
    const keys: Tensor[] = [];
    const values: Tensor[] = [];
    const counts = items.map(({ tokens }) => tokens.length);
    let slots: number[][] = [];
    let output: Float32Array;
    try {
      const logits = tidy(() => {
        const layout = this.layout(items);
        slots = layout.slots;
        let h = this.model.embedding.apply(op.tensor(Int32Array.from(items.flatMap((item) => item.tokens)), [1, layout.N])); // (1, N, C)
        for (let l = 0; l < layers; l++) {
          const block = this.model.blocks[l]!;
          const attend = (x: Tensor) => this.attention(block.attention, x, l, layout, keys, values);
          h = this.block(block, h, attend);
        }
        h = this.model.finalNorm.apply(h);
        if (lastOnly) {
          const last = Int32Array.from(items, (_, b) => layout.offsets[b]! + counts[b]! - 1);
          h = op.gather(op.reshape(h, [layout.N, h.shape[2]!]), op.tensor(last, [items.length]));
        }
        return keep(this.model.head.apply(h)); // (1, N, V), or (items, V) with lastOnly
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
    const block = new KvBlock(keys, values, slots);
    block.references = items.length;
    let offset = 0;
    return items.map((_, b) => {
      const logitsOf = lastOnly ? output.slice(b * V, (b + 1) * V) : output.slice(offset * V, (offset + counts[b]!) * V);
      offset += counts[b]!;
      return { logits: logitsOf, cache: new GptKvCache(block, b) };
    });
  }

  /** Where the step's sequences sit, and the index and mask tensors every layer shares. */
  private layout(items: readonly { tokens: readonly number[]; cache: GptKvCache }[]): StepLayout {
    const B = items.length;
    const counts = items.map(({ tokens }) => tokens.length);
    const caches = items.map(({ cache }) => cache);
    const lengths = caches.map((cache) => cache.length);
    const offsets: number[] = [];
    let N = 0;
    for (const count of counts) {
      offsets.push(N);
      N += count;
    }
    const T = Math.max(...counts);
    const padded = counts.some((count) => count !== T);
    const padRows = new Int32Array(B * T);
    const realRows = new Int32Array(N);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        padRows[b * T + t] = t < counts[b]! ? offsets[b]! + t : N;
        if (t < counts[b]!) realRows[offsets[b]! + t] = b * T + t;
      }
    }
    const old = this.oldSlots(caches, counts);
    // Each sequence's slots after the step: its old ones (compacted to 0..length−1 by a gather), then its new tokens'.
    const oldCapacity = old.kind === 'append' ? old.block.capacity : old.kind === 'gather' ? old.length : 0;
    const slots = caches.map((cache, b) => {
      const own = old.kind === 'append' ? [...old.block.slots[cache.row]!] : Array.from({ length: lengths[b]! }, (_, j) => j);
      for (let t = 0; t < counts[b]!; t++) own.push(oldCapacity + t);
      return own;
    });
    const capacity = oldCapacity + T;
    const mask = new Float32Array(B * T * capacity).fill(MASKED);
    for (let b = 0; b < B; b++) {
      const own = slots[b]!;
      for (let t = 0; t < T; t++) {
        // Query t sees the sequence's old positions and its new ones up to itself (padding queries: all of them).
        const visible = lengths[b]! + Math.min(t + 1, counts[b]!);
        for (let j = 0; j < visible; j++) mask[(b * T + t) * capacity + own[j]!] = 0;
      }
    }
    return {
      B,
      T,
      N,
      offsets,
      lengths,
      padRows: padded ? op.tensor(padRows, [B * T]) : null,
      realRows: padded ? op.tensor(realRows, [N]) : null,
      old,
      mask: op.tensor(mask, [B, 1, T, capacity]),
      slots,
    };
  }

  /**
   * How the step finds its sequences' old keys: appended to in place when they are exactly one
   * block's rows in order and the block stays at most twice as long as its longest sequence;
   * otherwise gathered, compacted, from wherever they are.
   */
  private oldSlots(caches: readonly GptKvCache[], counts: readonly number[]): OldSlots {
    const { heads: H } = this.config;
    const blocks: KvBlock[] = [];
    for (const { block } of caches) if (block !== null && !blocks.includes(block)) blocks.push(block);
    if (blocks.length === 0) return { kind: 'none' };
    const T = Math.max(...counts);
    const longest = Math.max(...caches.map((cache, b) => cache.length + counts[b]!));
    const only = blocks[0]!;
    const inOrder = blocks.length === 1 && only.rows === caches.length && caches.every(({ row }, b) => row === b);
    if (inOrder && only.capacity + T <= 2 * longest) return { kind: 'append', block: only };
    const length = Math.max(...caches.map((cache) => cache.length));
    const starts: number[] = [];
    let stacked = 0;
    for (const block of blocks) {
      starts.push(stacked);
      stacked += block.rows * H * block.capacity;
    }
    const index = new Int32Array(caches.length * H * length).fill(stacked); // the zero row
    for (const [b, { block, row }] of caches.entries()) {
      if (block === null) continue;
      const start = starts[blocks.indexOf(block)]!;
      const own = block.slots[row]!;
      for (let h = 0; h < H; h++) {
        const base = start + (row * H + h) * block.capacity;
        for (let j = 0; j < own.length; j++) index[(b * H + h) * length + j] = base + own[j]!;
      }
    }
    return { kind: 'gather', blocks, index: op.tensor(index, [index.length]), length };
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

  /**
   * CausalSelfAttention.apply over cached keys/values, every sequence a batch entry; pushes this
   * layer's keys (after RoPE) and values with the new slots, (B, H, slots, D), for the new block.
   */
  private attention(
    attention: CausalSelfAttention,
    x: Tensor,
    layer: number,
    layout: StepLayout,
    keys: Tensor[],
    values: Tensor[],
  ): Tensor {
    const { B, T, N, old } = layout;
    const C = x.shape[2]!;
    const { heads: H, ropeBase, scoreScale } = attention.options;
    const D = attention.headDim;
    // (1, N, C) rows → (B, H, T, D), each sequence's rows padded with zero rows up to T.
    const heads = (t: Tensor) => {
      let rows = op.reshape(t, [N, C]);
      if (layout.padRows) rows = op.gather(op.concat([rows, op.fill([1, C], 0)], 0), layout.padRows);
      return op.transpose(op.reshape(rows, [B, T, H, D]), [0, 2, 1, 3]);
    };
    const extend = (kind: 'keys' | 'values', fresh: Tensor) => {
      if (old.kind === 'none') return keep(fresh);
      if (old.kind === 'append') return keep(op.concat([old.block[kind][layer]!, fresh], 2));
      const flat = old.blocks.map((block) => {
        const t = block[kind][layer]!;
        return op.reshape(t, [t.size / D, D]);
      });
      const gathered = op.gather(op.concat([...flat, op.fill([1, D], 0)], 0), old.index); // (B·H·length, D)
      return keep(op.concat([op.reshape(gathered, [B, H, old.length, D]), fresh], 2));
    };
    const rope = { base: ropeBase, offset: layout.lengths };
    const q = op.rope(heads(attention.q.apply(x)), rope);
    const k = extend('keys', op.rope(heads(attention.k.apply(x)), rope));
    const v = extend('values', heads(attention.v.apply(x)));
    keys.push(k);
    values.push(v);
    const scores = op.add(op.mulScalar(op.matMul(q, k, false, true), scoreScale), layout.mask); // (B, H, T, slots)
    const y = op.matMul(op.softmax(scores), v); // (B, H, T, D)
    let rows = op.reshape(op.transpose(y, [0, 2, 1, 3]), [B * T, C]);
    if (layout.realRows) rows = op.gather(rows, layout.realRows);
    return attention.out.apply(op.reshape(rows, [1, N, C]));
  }
}
