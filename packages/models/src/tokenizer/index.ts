export { BpeTokenizer, type BpeTokenizerParts } from './bpe.js';
export { BYTE_TO_UNICODE, GPT2_SPLIT_PATTERN, splitWords } from './byte-level.js';
export { ByteTokenizer } from './bytes.js';
export { loadTokenizer } from './load.js';
export { type TrainBpeOptions, trainBpe } from './train-bpe.js';
export type { HuggingFaceAddedToken, HuggingFaceTokenizerJson, Tokenizer } from './types.js';
