import { check } from '@octet/core';
import { BpeTokenizer, MAX_VOCAB_SIZE, pairKey } from './bpe.js';
import { BYTE_TO_UNICODE, splitWords, utf8Encoder } from './byte-level.js';
import { MinHeap } from './min-heap.js';

export interface TrainBpeOptions {
  /** Final vocabulary size: 256 byte tokens + learned merges + special tokens. */
  vocabSize: number;
  /** Stop early when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Tokens appended after the learned ones (e.g. "<|endoftext|>"); never split and never merged. */
  specialTokens?: readonly string[];
}

/** A pair count waiting in the heap; stale when `count` no longer equals the pair's current count. */
interface PairCandidate {
  count: number;
  left: number;
  right: number;
}

/** Most frequent pair first; ties go to the smaller (left id, right id), so training is deterministic. */
function comesFirst(a: PairCandidate, b: PairCandidate): boolean {
  if (a.count !== b.count) return a.count > b.count;
  if (a.left !== b.left) return a.left < b.left;
  return a.right < b.right;
}

/**
 * Learns a GPT-2 style byte-level BPE from text. Words come from the GPT-2 regex; each distinct word
 * is kept once with its count. The 256 byte tokens get ids 0..255 (id = byte value, as in
 * ByteTokenizer); each merge joins the most frequent adjacent pair. Pair counts are updated incrementally: a merge only revisits
 * the words that contain its pair, and the heap is refreshed only for pairs whose count changed.
 */
export function trainBpe(text: string | readonly string[], options: TrainBpeOptions): BpeTokenizer {
  const { vocabSize, minFrequency = 2 } = options;
  const specialTokens = [...(options.specialTokens ?? [])];
  const smallest = 256 + specialTokens.length;
  check(
    Number.isInteger(vocabSize) && vocabSize >= smallest && vocabSize <= MAX_VOCAB_SIZE,
    'vocabSize',
    vocabSize,
    `an integer in [${smallest}, ${MAX_VOCAB_SIZE}] (256 byte tokens + ${specialTokens.length} special tokens at least)`,
  );
  check(Number.isInteger(minFrequency) && minFrequency >= 1, 'minFrequency', minFrequency, 'an integer ≥ 1');

  // 1. Count words. Special tokens in the training text are dropped, not learned from.
  const wordCounts = new Map<string, number>();
  const documents = typeof text === 'string' ? [text] : text;
  for (const document of documents) {
    for (const segment of splitOnSpecialTokens(document, specialTokens)) {
      for (const word of splitWords(segment)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }

  // 2. Each distinct word as byte ids, and the count of every adjacent pair over the corpus.
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(utf8Encoder.encode(word)));
    counts.push(count);
  }
  const pairCounts = new Map<number, number>();
  /** pair key → indices of words that contain (or once contained) the pair; may repeat an index. */
  const pairWords = new Map<number, number[]>();
  words.forEach((symbols, wordIndex) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + counts[wordIndex]);
      const holders = pairWords.get(key);
      if (holders === undefined) pairWords.set(key, [wordIndex]);
      else if (holders[holders.length - 1] !== wordIndex) holders.push(wordIndex);
    }
  });
  const heap = new MinHeap<PairCandidate>(comesFirst);
  const pushPair = (key: number, count: number) =>
    heap.push({ count, left: Math.floor(key / MAX_VOCAB_SIZE), right: key % MAX_VOCAB_SIZE });
  for (const [key, count] of pairCounts) pushPair(key, count);

  // 3. Merge until the vocabulary (with room left for the special tokens) is full.
  const tokens: string[] = [...BYTE_TO_UNICODE];
  const idsByToken = new Map(tokens.map((token, id) => [token, id]));
  const merges: [string, string][] = [];
  const lastVisitedInMerge = new Int32Array(words.length).fill(-1);
  const learnedVocabSize = vocabSize - specialTokens.length;

  while (tokens.length < learnedVocabSize) {
    const candidate = heap.pop();
    if (candidate === undefined) break;
    const { left, right } = candidate;
    const key = pairKey(left, right);
    if (pairCounts.get(key) !== candidate.count) continue;
    if (candidate.count < minFrequency) break;

    // Two different merge paths can spell the same string; like `tokenizers`, reuse its id.
    const mergedToken = tokens[left] + tokens[right];
    let mergedId = idsByToken.get(mergedToken);
    if (mergedId === undefined) {
      mergedId = tokens.push(mergedToken) - 1;
      idsByToken.set(mergedToken, mergedId);
    }
    const mergeIndex = merges.push([tokens[left], tokens[right]]) - 1;

    const deltas = new Map<number, number>();
    const addDelta = (pair: number, delta: number) => deltas.set(pair, (deltas.get(pair) ?? 0) + delta);
    for (const wordIndex of pairWords.get(key) ?? []) {
      if (lastVisitedInMerge[wordIndex] === mergeIndex) continue;
      lastVisitedInMerge[wordIndex] = mergeIndex;
      const before = words[wordIndex];
      const after: number[] = [];
      for (let i = 0; i < before.length; ) {
        if (i + 1 < before.length && before[i] === left && before[i + 1] === right) {
          after.push(mergedId);
          i += 2;
        } else {
          after.push(before[i]);
          i += 1;
        }
      }
      if (after.length === before.length) continue; // the pair left this word in an earlier merge
      const count = counts[wordIndex];
      for (let i = 0; i + 1 < before.length; i++) addDelta(pairKey(before[i], before[i + 1]), -count);
      for (let i = 0; i + 1 < after.length; i++) {
        const newPair = pairKey(after[i], after[i + 1]);
        addDelta(newPair, count);
        // Only pairs touching the merged token are new to this word; it is already listed under the others.
        if (after[i] === mergedId || after[i + 1] === mergedId) {
          const holders = pairWords.get(newPair);
          if (holders === undefined) pairWords.set(newPair, [wordIndex]);
          else if (holders[holders.length - 1] !== wordIndex) holders.push(wordIndex);
        }
      }
      words[wordIndex] = after;
    }
    pairWords.delete(key);
    for (const [pair, delta] of deltas) {
      if (delta === 0) continue;
      const count = (pairCounts.get(pair) ?? 0) + delta;
      if (count > 0) {
        pairCounts.set(pair, count);
        pushPair(pair, count);
      } else {
        pairCounts.delete(pair);
      }
    }
  }

  for (const special of specialTokens) {
    check(!idsByToken.has(special), 'specialTokens', special, 'strings that are not also learned or byte tokens');
    idsByToken.set(special, tokens.push(special) - 1);
  }
  return new BpeTokenizer({ tokens, merges, specialTokens });
}

/** The text between special tokens (each occurrence of one is dropped). */
function splitOnSpecialTokens(text: string, specialTokens: readonly string[]): string[] {
  let segments = [text];
  for (const special of specialTokens) segments = segments.flatMap((segment) => segment.split(special));
  return segments;
}
