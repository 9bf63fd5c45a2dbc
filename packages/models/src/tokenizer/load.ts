import { check } from '@octet/core';
import { BpeTokenizer, parseByteLevelBpeJson } from './bpe.js';
import { ByteTokenizer, isByteTokenizerJson } from './bytes.js';
import type { Tokenizer } from './types.js';

/**
 * Builds the tokenizer a tokenizer.json describes (parsed, or as JSON text): a ByteTokenizer when it
 * is the plain 256-byte vocabulary with no merges, otherwise a BpeTokenizer. Anything that is not a
 * byte-level BPE is refused with an error naming the field.
 */
export function loadTokenizer(json: unknown): Tokenizer {
  if (typeof json === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      check(false, 'tokenizer.json', `text that is not JSON (${(error as Error).message})`, 'a JSON document');
    }
    return loadTokenizer(parsed);
  }
  const parts = parseByteLevelBpeJson(json);
  return isByteTokenizerJson(json) ? new ByteTokenizer() : new BpeTokenizer(parts);
}
