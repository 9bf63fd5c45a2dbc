/**
 * Where a GptDecoder's keys and values live. A block's positions are slots: a step appends its new
 * keys as T more slots (one concat), and a mask hides the slots a sequence does not own (attention
 * does not care where a key sits: RoPE was applied before caching). A sequence that leaves leaves
 * its row behind as a hole: the decoding sequences still append to the block in place, with a zero
 * query for the hole (a few rows of q, k and v are spread to the block's rows, and the outputs
 * picked back). When sequences join, when holes would outnumber the sequences, or when sequences
 * of different blocks meet, one gather rebuilds a compact block with each sequence's positions in
 * order. Groups of one step end up in one block, zero-padded to the same number of slots, so a
 * block has as many slots as its longest sequence has positions.
 */
import { op, type Tensor } from '@octet/core';

/** Added to the attention scores of slots a query may not see: exp underflows to exactly 0. */
const MASKED = -1e30;

/**
 * Keys (after RoPE) and values of several sequences, per layer (rows, H, slots, D); `slots[r]` lists
 * the slot of each of row r's positions, in order. Shared by the caches that point into it; freed
 * with the last.
 */
export class KvBlock {
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

/** How a group finds its sequences' old keys and values: the block as it is, a compacting gather, or nothing. */
export type OldSlots =
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
export interface AttentionGroup {
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
export interface StepLayout {
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

/**
 * Groups the step's sequences by how many tokens they bring (fewest first; members in the order
 * of their cache rows, so a decode step after a step of the same sequences appends in place) and
 * builds each group's mask.
 */
export function planStep(items: readonly { tokens: readonly number[]; cache: GptKvCache }[], heads: number): StepLayout {
  const byCount = new Map<number, number[]>();
  for (const [i, { tokens }] of items.entries()) byCount.set(tokens.length, [...(byCount.get(tokens.length) ?? []), i]);
  const rowOf = (i: number) => items[i]!.cache.row + (items[i]!.cache.block === null ? items.length : 0);
  const groups: AttentionGroup[] = [];
  const firstRows: number[] = new Array(items.length);
  let N = 0;
  for (const T of [...byCount.keys()].sort((a, b) => a - b)) {
    const members = byCount.get(T)!.sort((a, b) => rowOf(a) - rowOf(b));
    for (const [b, i] of members.entries()) firstRows[i] = N + b * T;
    groups.push(planGroup(members, T, N, items, byCount.size === 1, heads));
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
function planGroup(
  members: number[],
  T: number,
  firstRow: number,
  items: readonly { tokens: readonly number[]; cache: GptKvCache }[],
  only: boolean,
  heads: number,
): AttentionGroup {
  const caches = members.map((i) => items[i]!.cache);
  const lengths = caches.map((cache) => cache.length);
  const B = members.length;
  const old = oldSlots(caches, T, T === 1 && only, heads);
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
function oldSlots(caches: readonly GptKvCache[], T: number, holesAllowed: boolean, H: number): OldSlots {
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
