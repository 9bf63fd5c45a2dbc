import { check } from '@octet/core';

/** Token ids of a whole split, e.g. a Uint16Array for vocabularies up to 65,536. */
export type TokenIds = Uint16Array | Uint32Array | Int32Array | readonly number[];

/** B windows of T tokens, row-major (B, T): targets[b, t] is the token after inputs[b, t]. */
export interface TokenBatch {
  inputs: Int32Array;
  targets: Int32Array;
  batchSize: number;
  contextLength: number;
}

export interface BatchShape {
  /** B: windows per batch. */
  batchSize: number;
  /** T: tokens per window fed to the model (each window reads T + 1 tokens). */
  contextLength: number;
}

/** Everything needed to continue the exact batch sequence: save it with a checkpoint. */
export interface SamplerState {
  seed: number;
  /** Number of batches drawn so far; the next batch is batchAt(step). */
  step: number;
}

/**
 * Random training batches from one long token sequence, nanoGPT style: each row is a window of
 * T + 1 consecutive tokens at a uniformly random start; x = window[0..T), y = window[1..T+1).
 *
 * The generator is counter-based: the start of row b of batch s is a hash of (seed, s, b). So the
 * position is just `step`, `restore({ seed, step })` resumes exactly, and `batchAt(s)` gives any
 * batch without drawing the ones before it.
 */
export class TokenDataset {
  readonly batchSize: number;
  readonly contextLength: number;
  private readonly tokens: TokenIds;
  private seed: number;
  private step: number;

  constructor(tokens: TokenIds, options: BatchShape & { seed?: number }) {
    checkShape(tokens, options);
    const seed = options.seed ?? 0;
    check(isSeed(seed), 'seed', seed, 'an integer in [0, 2^32)');
    this.tokens = tokens;
    this.batchSize = options.batchSize;
    this.contextLength = options.contextLength;
    this.seed = seed;
    this.step = 0;
  }

  /** Number of distinct window starts: length - T. */
  get windowCount(): number {
    return this.tokens.length - this.contextLength;
  }

  /** The next batch; advances the position by one. */
  nextBatch(): TokenBatch {
    const batch = this.batchAt(this.step);
    this.step += 1;
    return batch;
  }

  /** Batch number `step` of this seed's sequence; does not move the position. */
  batchAt(step: number): TokenBatch {
    check(Number.isSafeInteger(step) && step >= 0, 'step', step, 'a non-negative integer');
    const { batchSize, contextLength } = this;
    const batch = emptyBatch(batchSize, contextLength);
    for (let row = 0; row < batchSize; row++) {
      const start = Math.floor(uniform(this.seed, step, row) * this.windowCount);
      copyWindow(this.tokens, start, batch, row);
    }
    return batch;
  }

  state(): SamplerState {
    return { seed: this.seed, step: this.step };
  }

  restore(state: SamplerState): void {
    check(isSeed(state?.seed), 'state.seed', state?.seed, 'an integer in [0, 2^32)');
    check(Number.isSafeInteger(state.step) && state.step >= 0, 'state.step', state.step, 'a non-negative integer');
    this.seed = state.seed;
    this.step = state.step;
  }
}

/**
 * Evaluation batches that cover the sequence once, in order: windows start at 0, T, 2T, ... while
 * T + 1 tokens remain, so every token after the first is a target exactly once (the tail shorter
 * than a window is left out). The last batch may have fewer than B rows.
 */
export function* sequentialBatches(tokens: TokenIds, shape: BatchShape): Generator<TokenBatch> {
  checkShape(tokens, shape);
  const { batchSize, contextLength } = shape;
  const windows = sequentialWindowCount(tokens.length, contextLength);
  for (let first = 0; first < windows; first += batchSize) {
    const rows = Math.min(batchSize, windows - first);
    const batch = emptyBatch(rows, contextLength);
    for (let row = 0; row < rows; row++) copyWindow(tokens, (first + row) * contextLength, batch, row);
    yield batch;
  }
}

/** How many windows sequentialBatches yields for a sequence of `length` tokens. */
export function sequentialWindowCount(length: number, contextLength: number): number {
  return length > contextLength ? Math.floor((length - 1) / contextLength) : 0;
}

/** Stores token ids compactly: Uint16Array when every id of the vocabulary fits, else Int32Array. */
export function packTokenIds(ids: ArrayLike<number>, vocabSize: number): Uint16Array | Int32Array {
  check(Number.isInteger(vocabSize) && vocabSize >= 1 && vocabSize <= 2 ** 31, 'vocabSize', vocabSize, 'a positive integer up to 2^31');
  const packed = vocabSize <= 2 ** 16 ? new Uint16Array(ids.length) : new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) check(false, `ids[${i}]`, id, `an integer in [0, ${vocabSize})`);
    packed[i] = id;
  }
  return packed;
}

function checkShape(tokens: TokenIds, shape: BatchShape): void {
  check(Number.isInteger(shape.batchSize) && shape.batchSize >= 1, 'batchSize', shape.batchSize, 'a positive integer');
  check(Number.isInteger(shape.contextLength) && shape.contextLength >= 1, 'contextLength', shape.contextLength, 'a positive integer');
  check(
    tokens.length >= shape.contextLength + 1,
    'tokens.length',
    tokens.length,
    `at least contextLength + 1 = ${shape.contextLength + 1} tokens`,
  );
}

function isSeed(seed: unknown): seed is number {
  return Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) < 2 ** 32;
}

function emptyBatch(batchSize: number, contextLength: number): TokenBatch {
  const size = batchSize * contextLength;
  return { inputs: new Int32Array(size), targets: new Int32Array(size), batchSize, contextLength };
}

function copyWindow(tokens: TokenIds, start: number, batch: TokenBatch, row: number): void {
  const T = batch.contextLength;
  const offset = row * T;
  for (let t = 0; t < T; t++) {
    batch.inputs[offset + t] = tokens[start + t];
    batch.targets[offset + t] = tokens[start + t + 1];
  }
}

/** A 32-bit integer hash with good avalanche (Chris Wellons' "lowbias32"). */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A uniform number in [0, 1), determined by (seed, step, row) alone. */
function uniform(seed: number, step: number, row: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ (step >>> 0));
  h = mix32(h ^ Math.floor(step / 2 ** 32));
  h = mix32(h ^ row);
  const high = mix32(h ^ 0x85ebca6b) >>> 5; // 27 bits
  const low = mix32(h ^ 0xc2b2ae35) >>> 6; // 26 bits
  return (high * 2 ** 26 + low) / 2 ** 53;
}
