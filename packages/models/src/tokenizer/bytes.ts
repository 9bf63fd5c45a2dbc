import { OctetArgumentError } from '@octet/core';
import { byteLevelBpeJson } from './bpe.js';
import { BYTE_TO_UNICODE, utf8Decoder, utf8Encoder } from './byte-level.js';
import type { HuggingFaceTokenizerJson, Tokenizer } from './types.js';

/**
 * One token per UTF-8 byte: id = byte value, vocabulary 256. Needs no training and can encode
 * any text; its tokenizer.json is a byte-level BPE with no merges, so Hugging Face tools load it.
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 256;

  encode(text: string): number[] {
    return Array.from(utf8Encoder.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > 255) throw new OctetArgumentError(`ids[${i}]`, id, 'an integer byte id in [0, 256)');
      bytes[i] = id;
    }
    return utf8Decoder.decode(bytes);
  }

  toJSON(): HuggingFaceTokenizerJson {
    return byteLevelBpeJson(BYTE_TO_UNICODE, []);
  }
}

/** True when a parsed tokenizer.json is exactly what ByteTokenizer.toJSON writes: 256 byte tokens with id = byte, no merges. */
export function isByteTokenizerJson(json: unknown): boolean {
  if (typeof json !== 'object' || json === null) return false;
  const { model, added_tokens: addedTokens } = json as Partial<HuggingFaceTokenizerJson>;
  if (model?.type !== 'BPE' || !Array.isArray(model.merges) || model.merges.length !== 0) return false;
  if (Array.isArray(addedTokens) && addedTokens.length > 0) return false;
  const vocab = model.vocab ?? {};
  return Object.keys(vocab).length === 256 && BYTE_TO_UNICODE.every((char, byte) => vocab[char] === byte);
}
