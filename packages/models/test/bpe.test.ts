import { describe, expect, it } from 'vitest';
import { loadBrown } from '../src/data/index.js';
import { BpeTokenizer, BYTE_TO_UNICODE, splitWords, trainBpe } from '../src/tokenizer/index.js';
import { huggingFace, TRICKY_STRINGS } from './__fixtures__/tokenizer-cases.js';

// Training on a 400k-character slice keeps the test quick; the full split trains the same way.
const brown = loadBrown();
const trainingText = brown.train.slice(0, 400_000);
const valSample = brown.val.slice(0, 6000);
const tokenizer = trainBpe(trainingText, { vocabSize: 1024 });

/**
 * The textbook algorithm, written independently of BpeTokenizer: replay every merge in order on
 * each word's byte characters, joining each left-to-right occurrence of the pair.
 */
function referenceEncode(text: string, vocab: Record<string, number>, merges: string[]): number[] {
  const pairs = merges.map((merge) => merge.split(' '));
  const ids: number[] = [];
  for (const word of splitWords(text)) {
    let symbols = Array.from(new TextEncoder().encode(word), (byte) => BYTE_TO_UNICODE[byte]);
    for (const [left, right] of pairs) {
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    for (const symbol of symbols) ids.push(vocab[symbol]);
  }
  return ids;
}

describe('trainBpe', () => {
  it('fills the vocabulary with byte tokens first, then merges of frequent pairs', () => {
    expect(tokenizer.vocabSize).toBe(1024);
    expect(tokenizer.mergeCount).toBeGreaterThanOrEqual(1024 - 256);
    for (let byte = 0; byte < 256; byte++) expect(tokenizer.idToToken(byte)).toBe(BYTE_TO_UNICODE[byte]);
    const { merges } = tokenizer.toJSON().model;
    // The most frequent pairs of English: " t", "he", " a", "in", " the".
    expect(merges.slice(0, 5)).toEqual(['Ġ t', 'h e', 'Ġ a', 'i n', 'Ġt he']);
    expect(tokenizer.tokenToId('Ġthe')).toBe(260);
  });

  it('is deterministic', () => {
    const again = trainBpe(trainingText, { vocabSize: 1024 });
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(tokenizer.toJSON()));
  });

  it('compresses text it has not seen', () => {
    const ids = tokenizer.encode(valSample);
    expect(valSample.length / ids.length).toBeGreaterThan(2.5);
    expect(Math.max(...ids)).toBeLessThan(1024);
  });

  it('stops early when no pair is frequent enough', () => {
    // Words "abab" and " abab": "a b" occurs 4 times, then "ab ab" twice, then " abab" only once.
    const small = trainBpe('abab abab', { vocabSize: 1000 });
    expect(small.vocabSize).toBe(258);
    expect(small.toJSON().model.merges).toEqual(['a b', 'ab ab']);
    expect(small.encode('abab abab').map((id) => small.idToToken(id))).toEqual(['abab', 'Ġ', 'abab']);
  });

  it('rejects a vocabulary smaller than the byte alphabet', () => {
    expect(() => trainBpe('abc', { vocabSize: 100 })).toThrow(/vocabSize: got 100; allowed: an integer in \[256,/);
    expect(() => trainBpe('abc', { vocabSize: 256, specialTokens: ['<|endoftext|>'] })).toThrow(/\[257,/);
  });
});

describe('BpeTokenizer', () => {
  const json = tokenizer.toJSON();
  const reference = huggingFace(json);

  it('writes a Hugging Face tokenizer.json: BPE model, ByteLevel pre-tokenizer and decoder', () => {
    expect(json.model.type).toBe('BPE');
    expect(json.pre_tokenizer).toMatchObject({ type: 'ByteLevel', add_prefix_space: false, use_regex: true });
    expect(json.decoder).toMatchObject({ type: 'ByteLevel' });
    expect(Object.keys(json.model.vocab)).toHaveLength(1024);
    expect(json.model.merges).toHaveLength(tokenizer.mergeCount);
  });

  it('encodes Brown validation text and tricky strings exactly like @huggingface/tokenizers', () => {
    for (const text of [valSample, ...TRICKY_STRINGS]) {
      const ids = tokenizer.encode(text);
      expect(ids).toEqual(reference.encode(text).ids);
      expect(ids).toEqual(referenceEncode(text, json.model.vocab, json.model.merges));
    }
  });

  it('decodes what it encodes, as @huggingface/tokenizers does', () => {
    for (const text of [valSample, ...TRICKY_STRINGS]) {
      const ids = tokenizer.encode(text);
      expect(tokenizer.decode(ids)).toBe(text);
      if (ids.length > 0) expect(reference.decode(ids)).toBe(text);
    }
    // Half of a multi-byte character decodes to U+FFFD.
    const euro = tokenizer.encode('€');
    expect(tokenizer.decode(euro.slice(0, 1))).toBe('\ufffd');
  });

  it('encodes a 60,000-character word like the reference', () => {
    const word = 'the'.repeat(20_000);
    const ids = tokenizer.encode(word);
    expect(ids).toEqual(reference.encode(word).ids);
    expect(tokenizer.decode(ids)).toBe(word);
  });

  it('loads back from its JSON with the same behaviour', () => {
    const loaded = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
    expect(loaded.encode(valSample)).toEqual(tokenizer.encode(valSample));
    expect(loaded.toJSON()).toEqual(json);
    // The newer [left, right] merge form is read too.
    const pairs = { ...json, model: { ...json.model, merges: json.model.merges.map((merge) => merge.split(' ')) } };
    expect(BpeTokenizer.fromJSON(pairs).encode(valSample)).toEqual(tokenizer.encode(valSample));
  });

  it('keeps special tokens whole and never learns from them', () => {
    const withSpecial = trainBpe(['first document.', 'second document.'].join('<|endoftext|>').repeat(50), {
      vocabSize: 300,
      specialTokens: ['<|endoftext|>'],
    });
    const endOfText = withSpecial.vocabSize - 1;
    expect(withSpecial.idToToken(endOfText)).toBe('<|endoftext|>');
    const text = 'first document.<|endoftext|>second one<|endoftext|>';
    const ids = withSpecial.encode(text);
    expect(ids.filter((id) => id === endOfText)).toHaveLength(2);
    expect(withSpecial.decode(ids)).toBe(text);
    const specialJson = withSpecial.toJSON();
    expect(specialJson.added_tokens).toEqual([
      { id: endOfText, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ]);
    expect(huggingFace(specialJson).encode(text).ids).toEqual(ids);
    expect(BpeTokenizer.fromJSON(specialJson).encode(text)).toEqual(ids);
    // No learned token contains part of the special token's text.
    for (let id = 256; id < endOfText; id++) expect(withSpecial.idToToken(id)).not.toContain('|');
  });
});
