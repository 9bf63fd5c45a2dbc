/**
 * Inference with a KV cache: the Gpt's own forward (`Gpt.forward` with a cache), where this file
 * only decides where keys and values live. Prefill a prompt once, then feed one token per step. Several sequences step together, each
 * bringing any number of new tokens (a prompt being prefilled beside sequences decoding one token).
 * Their rows lie end to end, so every Linear (q, k, v, out, MLP) runs once on all of them. Attention
 * runs batched too: sequences bringing the same number of tokens form a group (all the decoding
 * ones, usually), one batch entry per sequence, against a cache block holding their keys and
 * values; so the kernels per step do not grow with the number of sequences, and nothing is padded.
 *
 * A block's positions are slots: a step appends its new keys as T more slots (one concat), and a
 * mask hides the slots a sequence does not own (attention does not care where a key sits: RoPE
 * was applied before caching). A sequence that leaves leaves its row behind as a hole: the
 * decoding sequences still append to the block in place, with a zero query for the hole (a few
 * rows of q, k and v are spread to the block's rows, and the outputs picked back). When
 * sequences join, when holes would outnumber the sequences, or when sequences of different
 * blocks meet, one gather rebuilds a compact block with each sequence's positions in order.
 * Groups of one step end up in one block, zero-padded to the same number of slots, so a block has
 * as many slots as its longest sequence has positions.
 */

import type { AttentionCache, CausalSelfAttention } from '@octet/core';
import { check, checkStepItems, keep, op, type Tensor, tidy } from '@octet/core';
import type { Gpt, GptCache } from './gpt.js';

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

/** How a group finds its sequences' old keys and values: the block as it is, a compacting gather, or nothing. */
type OldSlots =
  | { kind: 'none' }
  /**
   * The one block holding the group's sequences, in the order of its rows, and nothing else alive:
   * new slots are appended to it. Rows no member has are holes.
   */
  | { kind: 'append'; block: KvBlock }
  /**
   * The blocks flattened to (rows·H·slots, D), stacked with the step's new keys (B·H·T, D) and a
   * zero row; `index` picks (B, H, length + T) of them: each sequence's old positions in order, zeros
   * up to the longest, then its new ones. One gather builds the group's keys.
   */
  | { kind: 'gather'; blocks: KvBlock[]; index: Tensor; length: number };

/** Sequences of one step bringing the same number T of new tokens: their attention runs as one (B, H, T, ·) batch. */
interface AttentionGroup {
  /** Indices into the step's items, in the order of the group's rows. */
  members: number[];
  T: number;
  /** The first of the group's B·T rows among the step's N (groups lie end to end). */
  firstRow: number;
  /** Per member, its cached length (where its positions continue). */
  lengths: number[];
  old: OldSlots;
  /** Slots after the step. */
  capacity: number;
  /** Rows of the group's part of the new block: B, or the appended block's rows, holes included. */
  rows: number;
  /** Per member, its row among those; only when they include holes (else member b is row b). */
  memberRows: number[] | null;
  /** (rows, 1, T, capacity): 0 where query t of member b may attend, MASKED elsewhere; null when it sees every slot. */
  mask: Tensor | null;
  /** Per row, the slot of each of its positions after the step (none for a hole). */
  slots: number[][];
}

/** Where one step's sequences sit, shared by every layer. */
interface StepLayout {
  N: number;
  groups: AttentionGroup[];
  /** Per item, its first row among the N. */
  firstRows: number[];
  /** Slots of the step's new block: the largest group's (the others are zero-padded to it). */
  capacity: number;
  /** Per item, its row in the new block. */
  blockRows: number[];
  /** Per row of the new block, the slot of each of its positions. */
  slots: number[][];
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
        const layout = this.layout(items);
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

  /**
   * Groups the step's sequences by how many tokens they bring (fewest first; members in the order
   * of their cache rows, so a decode step after a step of the same sequences appends in place) and
   * builds each group's mask.
   */
  private layout(items: readonly { tokens: readonly number[]; cache: GptKvCache }[]): StepLayout {
    const byCount = new Map<number, number[]>();
    for (const [i, { tokens }] of items.entries()) byCount.set(tokens.length, [...(byCount.get(tokens.length) ?? []), i]);
    const rowOf = (i: number) => items[i]!.cache.row + (items[i]!.cache.block === null ? items.length : 0);
    const groups: AttentionGroup[] = [];
    const firstRows: number[] = new Array(items.length);
    let N = 0;
    for (const T of [...byCount.keys()].sort((a, b) => a - b)) {
      const members = byCount.get(T)!.sort((a, b) => rowOf(a) - rowOf(b));
      for (const [b, i] of members.entries()) firstRows[i] = N + b * T;
      groups.push(this.group(members, T, N, items, byCount.size === 1));
      N += members.length * T;
    }
    const capacity = Math.max(...groups.map((group) => group.capacity));
    const blockRows: number[] = new Array(items.length);
    const slots: number[][] = [];
    for (const group of groups) {
      for (const [b, i] of group.members.entries()) blockRows[i] = slots.length + (group.memberRows?.[b] ?? b);
      slots.push(...group.slots);
    }
    return { N, groups, firstRows, capacity, blockRows, slots };
  }

  /** One group's old slots, slots after the step and mask. */
  private group(
    members: number[],
    T: number,
    firstRow: number,
    items: readonly { tokens: readonly number[]; cache: GptKvCache }[],
    only: boolean,
  ): AttentionGroup {
    const caches = members.map((i) => items[i]!.cache);
    const lengths = caches.map((cache) => cache.length);
    const B = members.length;
    const old = this.oldSlots(caches, T, T === 1 && only);
    // Each sequence's slots after the step: its old ones (compacted to 0..length−1 by a gather), then its new tokens'.
    const oldCapacity = old.kind === 'append' ? old.block.capacity : old.kind === 'gather' ? old.length : 0;
    const own = caches.map((cache, b) => {
      const slots = old.kind === 'append' ? [...old.block.slots[cache.row]!] : Array.from({ length: lengths[b]! }, (_, j) => j);
      for (let t = 0; t < T; t++) slots.push(oldCapacity + t);
      return slots;
    });
    const holes = old.kind === 'append' && old.block.rows > B;
    const rows = holes ? old.block.rows : B;
    const memberRows = holes ? caches.map(({ row }) => row) : null;
    const slots: number[][] = holes ? Array.from({ length: rows }, () => []) : own;
    if (memberRows) for (const [b, row] of memberRows.entries()) slots[row] = own[b]!;
    const capacity = oldCapacity + T;
    // A hole's query sees every slot (its output is dropped); a member's query t sees its old positions and its new ones up to itself.
    const mask = new Float32Array(rows * T * capacity);
    for (const [b, row] of (memberRows ?? members.map((_, b) => b)).entries()) {
      mask.fill(MASKED, row * T * capacity, (row + 1) * T * capacity);
      for (let t = 0; t < T; t++) for (let j = 0; j < lengths[b]! + t + 1; j++) mask[(row * T + t) * capacity + own[b]![j]!] = 0;
    }
    const hidden = mask.some((v) => v !== 0);
    return {
      members,
      T,
      firstRow,
      lengths,
      old,
      capacity,
      rows,
      memberRows,
      mask: hidden ? op.tensor(mask, [rows, 1, T, capacity]) : null,
      slots,
    };
  }

  /**
   * How a group finds its sequences' old keys: appended to in place when they are all the live
   * rows of one block, in order (a block's slots never outnumber its longest sequence's
   * positions, so appending wastes nothing but the shorter rows' tails); otherwise gathered,
   * compacted, from wherever they are. Rows of sequences that left may stay as holes
   * (`holesAllowed`: one token each, no other group in the step, so no new rows join), at most
   * as many as there are sequences.
   */
  private oldSlots(caches: readonly GptKvCache[], T: number, holesAllowed: boolean): OldSlots {
    const { heads: H } = this.config;
    const blocks: KvBlock[] = [];
    for (const { block } of caches) if (block !== null && !blocks.includes(block)) blocks.push(block);
    if (blocks.length === 0) return { kind: 'none' };
    const length = Math.max(...caches.map((cache) => cache.length));
    const only = blocks[0]!;
    // The block's live caches are exactly these (a cache is released when its sequence leaves or its step consumes it).
    const allLive = blocks.length === 1 && caches.every(({ block }) => block === only) && only.references === caches.length;
    const inOrder = caches.every(({ row }, b) => b === 0 || row > caches[b - 1]!.row);
    const holes = only.rows - caches.length;
    if (allLive && inOrder && (holes === 0 || (holesAllowed && holes <= caches.length))) {
      return { kind: 'append', block: only };
    }
    const starts: number[] = [];
    let stacked = 0;
    for (const block of blocks) {
      starts.push(stacked);
      stacked += block.rows * H * block.capacity;
    }
    const B = caches.length;
    const slots = length + T;
    const index = new Int32Array(B * H * slots).fill(stacked + B * H * T); // the zero row
    for (const [b, { block, row }] of caches.entries()) {
      for (let h = 0; h < H; h++) {
        const at = (b * H + h) * slots;
        for (let t = 0; t < T; t++) index[at + length + t] = stacked + (b * H + h) * T + t;
        if (block === null) continue;
        const base = starts[blocks.indexOf(block)]! + (row * H + h) * block.capacity;
        const own = block.slots[row]!;
        for (let j = 0; j < own.length; j++) index[at + j] = base + own[j]!;
      }
    }
    return { kind: 'gather', blocks, index: op.tensor(index, [index.length]), length };
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
