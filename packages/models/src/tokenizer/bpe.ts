import { check, OctetArgumentError } from '@octet/core';
import { BYTE_LEVEL_COMPONENT, BYTE_TO_UNICODE, splitWords, tokenStringToBytes, utf8Decoder, utf8Encoder } from './byte-level.js';
import { MinHeap } from './min-heap.js';
import type { HuggingFaceAddedToken, HuggingFaceTokenizerJson, Tokenizer } from './types.js';

/** Token ids must fit in 21 bits so that a pair of ids packs into one exact number key. */
export const MAX_VOCAB_SIZE = 2 ** 21;

/** One number per ordered pair of token ids: the key of merge and pair-count tables. */
export function pairKey(left: number, right: number): number {
  return left * MAX_VOCAB_SIZE + right;
}

/** Words longer than this (in characters) are not cached: they are rare and would crowd the cache. */
const MAX_CACHED_WORD_LENGTH = 256;
const WORD_CACHE_CAPACITY = 100_000;

/** Everything that defines a byte-level BPE tokenizer. */
export interface BpeTokenizerParts {
  /** Token strings by id (GPT-2 byte characters, or a special token's text); all 256 byte characters must be present. */
  tokens: readonly string[];
  /** Merges in priority order: `[left, right]` token strings whose concatenation is also in `tokens`. */
  merges: ReadonlyArray<readonly [string, string]>;
  /** Tokens matched verbatim in the text before BPE (e.g. "<|endoftext|>"); each must be in `tokens`. */
  specialTokens?: readonly string[];
}

/**
 * Byte-level BPE as in GPT-2 and Hugging Face `tokenizers`: text is split with the GPT-2 regex,
 * each word becomes its UTF-8 bytes, and the highest-priority merge (leftmost on ties) is applied
 * until none applies. Produces the same ids as @huggingface/tokenizers on the same tokenizer.json.
 */
export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  private readonly tokens: readonly string[];
  private readonly tokenBytes: Uint8Array[];
  private readonly idsByToken: Map<string, number>;
  private readonly byteIds = new Int32Array(256);
  private readonly mergePairs: ReadonlyArray<readonly [string, string]>;
  /** pairKey(left, right) → merge rank; mergedIds[rank] is the id the pair becomes. */
  private readonly mergeRanks = new Map<number, number>();
  private readonly mergedIds: Int32Array;
  private readonly specialTokens: readonly string[];
  private readonly specialSplitter: RegExp | null;
  private readonly wordCache = new Map<string, readonly number[]>();

  constructor(parts: BpeTokenizerParts) {
    const { tokens, merges } = parts;
    check(tokens.length <= MAX_VOCAB_SIZE, 'tokens.length', tokens.length, `at most ${MAX_VOCAB_SIZE} tokens`);
    this.tokens = tokens;
    this.vocabSize = tokens.length;
    this.idsByToken = new Map();
    tokens.forEach((token, id) => {
      check(typeof token === 'string', `tokens[${id}]`, token, 'a string');
      check(!this.idsByToken.has(token), `tokens[${id}]`, token, 'a token that appears once in the vocabulary');
      this.idsByToken.set(token, id);
    });

    this.specialTokens = [...(parts.specialTokens ?? [])];
    const special = new Set(this.specialTokens);
    for (const content of special) {
      check(this.idsByToken.has(content), 'specialTokens', content, 'tokens that are in the vocabulary');
      check(content.length > 0, 'specialTokens', content, 'non-empty strings');
    }
    this.specialSplitter = special.size === 0 ? null : specialTokenSplitter([...special]);

    this.tokenBytes = tokens.map((token, id) => {
      const bytes = special.has(token) ? utf8Encoder.encode(token) : tokenStringToBytes(token);
      if (bytes === undefined) {
        throw new OctetArgumentError(`tokens[${id}]`, token, 'GPT-2 byte-level characters (or a special token)');
      }
      return bytes;
    });
    for (let byte = 0; byte < 256; byte++) {
      const id = this.idsByToken.get(BYTE_TO_UNICODE[byte]);
      check(id !== undefined, 'tokens', `no token for byte ${byte}`, 'a vocabulary holding all 256 single-byte tokens');
      this.byteIds[byte] = id;
    }

    this.mergePairs = merges;
    this.mergedIds = new Int32Array(merges.length);
    merges.forEach(([left, right], rank) => {
      const leftId = this.idsByToken.get(left);
      const rightId = this.idsByToken.get(right);
      const mergedId = this.idsByToken.get(left + right);
      const allowed = 'a pair of vocabulary tokens whose concatenation is also in the vocabulary';
      check(leftId !== undefined && rightId !== undefined && mergedId !== undefined, `merges[${rank}]`, [left, right], allowed);
      const key = pairKey(leftId, rightId);
      // A repeated merge never applies: the first (higher priority) one always wins.
      if (!this.mergeRanks.has(key)) this.mergeRanks.set(key, rank);
      this.mergedIds[rank] = mergedId;
    });
  }

  /** Loads a Hugging Face tokenizer.json holding a byte-level BPE (as written by `toJSON`). */
  static fromJSON(json: unknown): BpeTokenizer {
    return new BpeTokenizer(parseByteLevelBpeJson(json));
  }

  get mergeCount(): number {
    return this.mergePairs.length;
  }

  tokenToId(token: string): number | undefined {
    return this.idsByToken.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const segments = this.specialSplitter === null ? [text] : text.split(this.specialSplitter);
    segments.forEach((segment, index) => {
      // split() with a capturing group puts the matched special tokens at odd indices.
      if (index % 2 === 1) {
        ids.push(this.idsByToken.get(segment) as number);
        return;
      }
      for (const word of splitWords(segment)) {
        for (const id of this.encodeWord(word)) ids.push(id);
      }
    });
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const bytes = Number.isInteger(id) ? this.tokenBytes[id] : undefined;
      if (bytes === undefined) throw new OctetArgumentError(`ids[${i}]`, id, `an integer token id in [0, ${this.vocabSize})`);
      parts.push(bytes);
      length += bytes.length;
    }
    const joined = new Uint8Array(length);
    let offset = 0;
    for (const bytes of parts) {
      joined.set(bytes, offset);
      offset += bytes.length;
    }
    return utf8Decoder.decode(joined);
  }

  toJSON(): HuggingFaceTokenizerJson {
    return byteLevelBpeJson(this.tokens, this.mergePairs, this.specialTokens);
  }

  /** BPE on one pre-tokenized word, with a cache because natural text repeats its words. */
  private encodeWord(word: string): readonly number[] {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) return cached;
    const ids = this.mergeWord(utf8Encoder.encode(word));
    if (word.length <= MAX_CACHED_WORD_LENGTH) {
      if (this.wordCache.size >= WORD_CACHE_CAPACITY) this.wordCache.clear();
      this.wordCache.set(word, ids);
    }
    return ids;
  }

  /**
   * Applies merges to a word's bytes, lowest rank first and leftmost first among equal ranks
   * (the order of Hugging Face `tokenizers`), in O(n log n): symbols form a linked list and
   * candidate merges sit in a heap keyed by rank × 2^31 + position of the left symbol.
   */
  private mergeWord(bytes: Uint8Array): number[] {
    const length = bytes.length;
    const symbols = new Int32Array(length);
    for (let i = 0; i < length; i++) symbols[i] = this.byteIds[bytes[i]];
    if (length < 2 || this.mergeRanks.size === 0) return Array.from(symbols);

    const next = new Int32Array(length);
    const previous = new Int32Array(length);
    const alive = new Uint8Array(length).fill(1);
    for (let i = 0; i < length; i++) {
      next[i] = i + 1 < length ? i + 1 : -1;
      previous[i] = i - 1;
    }
    const POSITIONS = 2 ** 31;
    const candidates = new MinHeap<number>((a, b) => a < b);
    const pushCandidate = (left: number) => {
      const right = next[left];
      if (right < 0) return;
      const rank = this.mergeRanks.get(pairKey(symbols[left], symbols[right]));
      if (rank !== undefined) candidates.push(rank * POSITIONS + left);
    };
    for (let i = 0; i + 1 < length; i++) pushCandidate(i);

    for (let entry = candidates.pop(); entry !== undefined; entry = candidates.pop()) {
      const rank = Math.floor(entry / POSITIONS);
      const left = entry - rank * POSITIONS;
      const right = next[left];
      // Skip entries made stale by an earlier merge: the pair at `left` must still be this rank's pair.
      if (!alive[left] || right < 0 || this.mergeRanks.get(pairKey(symbols[left], symbols[right])) !== rank) continue;
      symbols[left] = this.mergedIds[rank];
      alive[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) previous[next[right]] = left;
      if (previous[left] >= 0) pushCandidate(previous[left]);
      pushCandidate(left);
    }

    const ids: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) ids.push(symbols[i]);
    return ids;
  }
}

/** A regex whose split() isolates special tokens; longest first so that one never hides a longer one. */
function specialTokenSplitter(contents: string[]): RegExp {
  const escaped = contents
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
    .map((content) => content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(${escaped.join('|')})`, 'u');
}

/** Builds the Hugging Face tokenizer.json of a byte-level BPE (no normalizer, GPT-2 regex, no prefix space). */
export function byteLevelBpeJson(
  tokens: readonly string[],
  merges: ReadonlyArray<readonly [string, string]>,
  specialTokens: readonly string[] = [],
): HuggingFaceTokenizerJson {
  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  const addedTokens: HuggingFaceAddedToken[] = specialTokens.map((content) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { ...BYTE_LEVEL_COMPONENT },
    post_processor: null,
    decoder: { ...BYTE_LEVEL_COMPONENT },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      // Byte-level token strings never contain a space, so the classic "left right" form is unambiguous
      // and readable by every version of `tokenizers`.
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks that a ByteLevel pre-tokenizer/decoder behaves as this implementation does. */
function checkByteLevelComponent(component: unknown, field: string): void {
  const allowed = 'a ByteLevel component with add_prefix_space false and use_regex true';
  check(isRecord(component) && component.type === 'ByteLevel', field, component, allowed);
  check(!component.add_prefix_space, `${field}.add_prefix_space`, component.add_prefix_space, 'false');
  check(component.use_regex !== false, `${field}.use_regex`, component.use_regex, 'true');
}

/** Validates a tokenizer.json and extracts the parts of a byte-level BPE, naming the first field that is wrong. */
export function parseByteLevelBpeJson(json: unknown): BpeTokenizerParts {
  check(isRecord(json), 'tokenizer.json', json, 'a JSON object');
  const model = json.model;
  check(isRecord(model) && model.type === 'BPE', 'tokenizer.json model.type', isRecord(model) ? model.type : model, '"BPE"');
  check(json.normalizer == null, 'tokenizer.json normalizer', json.normalizer, 'null (no normalizer)');
  checkByteLevelComponent(json.pre_tokenizer, 'tokenizer.json pre_tokenizer');
  checkByteLevelComponent(json.decoder, 'tokenizer.json decoder');
  check(!model.byte_fallback, 'tokenizer.json model.byte_fallback', model.byte_fallback, 'false');
  check(!model.ignore_merges, 'tokenizer.json model.ignore_merges', model.ignore_merges, 'false');
  check(model.dropout == null, 'tokenizer.json model.dropout', model.dropout, 'null');
  check(!model.continuing_subword_prefix, 'tokenizer.json model.continuing_subword_prefix', model.continuing_subword_prefix, 'null or ""');
  check(!model.end_of_word_suffix, 'tokenizer.json model.end_of_word_suffix', model.end_of_word_suffix, 'null or ""');

  const vocab = model.vocab;
  check(isRecord(vocab), 'tokenizer.json model.vocab', vocab, 'an object mapping token strings to ids');
  const tokens: string[] = [];
  const place = (token: string, id: unknown, field: string) => {
    check(
      Number.isInteger(id) && (id as number) >= 0 && (id as number) < MAX_VOCAB_SIZE,
      field,
      id,
      `an integer id in [0, ${MAX_VOCAB_SIZE})`,
    );
    const existing = tokens[id as number];
    check(existing === undefined || existing === token, field, id, `an id not already used by ${JSON.stringify(existing)}`);
    tokens[id as number] = token;
  };
  for (const [token, id] of Object.entries(vocab)) place(token, id, `tokenizer.json model.vocab[${JSON.stringify(token)}]`);

  const addedTokens = json.added_tokens ?? [];
  check(Array.isArray(addedTokens), 'tokenizer.json added_tokens', addedTokens, 'an array');
  const specialTokens: string[] = [];
  addedTokens.forEach((added: unknown, index: number) => {
    const field = `tokenizer.json added_tokens[${index}]`;
    check(isRecord(added) && typeof added.content === 'string', field, added, 'an object with a string content');
    check(!added.lstrip && !added.rstrip && !added.single_word, field, added, 'lstrip, rstrip and single_word all false');
    place(added.content, added.id, `${field}.id`);
    specialTokens.push(added.content);
  });
  for (let id = 0; id < tokens.length; id++) {
    check(tokens[id] !== undefined, 'tokenizer.json model.vocab', `no token with id ${id}`, 'ids 0..n-1 with no gaps');
  }

  const rawMerges = model.merges;
  check(Array.isArray(rawMerges), 'tokenizer.json model.merges', rawMerges, 'an array of "left right" strings or [left, right] pairs');
  const merges = rawMerges.map((merge: unknown, rank: number): [string, string] => {
    if (typeof merge === 'string') {
      const parts = merge.split(' ');
      if (parts.length === 2) return [parts[0], parts[1]];
    } else if (Array.isArray(merge) && merge.length === 2 && merge.every((part) => typeof part === 'string')) {
      return [merge[0], merge[1]];
    }
    throw new OctetArgumentError(`tokenizer.json model.merges[${rank}]`, merge, 'a "left right" string or a [left, right] pair');
  });
  return { tokens, merges, specialTokens };
}
