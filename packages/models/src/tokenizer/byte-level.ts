// The GPT-2 byte-level conventions shared by every tokenizer here and by Hugging Face's
// `ByteLevel` pre-tokenizer and decoder: a reversible map from the 256 byte values to printable
// unicode characters, and the regex that splits text into words before BPE.

/**
 * GPT-2's byte → character map. Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
 * themselves; the other 68 bytes (controls, space, soft hyphen) are moved to U+0100 and up, in
 * byte order, so every token string in a vocabulary is visible and contains no whitespace.
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const printable = (byte: number) => (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const table: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    table.push(String.fromCharCode(printable(byte) ? byte : 256 + shifted++));
  }
  return table;
})();

/** The inverse of BYTE_TO_UNICODE: character → byte value. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((char, byte) => [char, byte]));

/**
 * GPT-2's pre-tokenizer regex (as in Hugging Face's ByteLevel pre-tokenizer with `use_regex`):
 * English contractions, an optional space followed by letters, digits or other symbols, and
 * whitespace runs (all but the last space of a run before a word, so that space joins the word).
 */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits text into the words that BPE merges never cross. */
export function splitWords(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}

/** Byte-level token string (GPT-2 characters) → the bytes it stands for. */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = UNICODE_TO_BYTE.get(token[i]);
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}

/** Bytes → byte-level token string (GPT-2 characters). */
export function bytesToTokenString(bytes: Uint8Array): string {
  let token = '';
  for (const byte of bytes) token += BYTE_TO_UNICODE[byte];
  return token;
}

export const utf8Encoder = new TextEncoder();

/**
 * Lenient UTF-8 decoding: an invalid or truncated sequence becomes U+FFFD, as in Hugging Face's
 * ByteLevel decoder. `ignoreBOM` keeps a leading U+FEFF that the text really contained.
 */
export const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The Hugging Face `ByteLevel` component settings that octet writes and accepts. */
export const BYTE_LEVEL_COMPONENT = {
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: true,
} as const;
