/** What the model, the trainer and the server need from any tokenizer. */
export interface Tokenizer {
  /** Number of token ids; every id from `encode` is in [0, vocabSize). */
  readonly vocabSize: number;
  encode(text: string): number[];
  /** Invalid UTF-8 (e.g. a cut multi-byte character) decodes to U+FFFD rather than failing. */
  decode(ids: ArrayLike<number>): string;
  /** A Hugging Face `tokenizer.json` document that @huggingface/tokenizers and `tokenizers` load. */
  toJSON(): HuggingFaceTokenizerJson;
}

/** One entry of `added_tokens` in a Hugging Face tokenizer.json. */
export interface HuggingFaceAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The parts of a Hugging Face tokenizer.json that byte-level BPE uses. */
export interface HuggingFaceTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HuggingFaceAddedToken[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    /** "left right" pairs, highest priority first. */
    merges: string[];
  };
}
