import { OctetArgumentError } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { loadBrown } from '../src/data/index.js';
import { BpeTokenizer, BYTE_TO_UNICODE, ByteTokenizer, loadTokenizer, trainBpe } from '../src/tokenizer/index.js';
import { huggingFace, TRICKY_STRINGS } from './__fixtures__/tokenizer-cases.js';

describe('ByteTokenizer', () => {
  const bytes = new ByteTokenizer();

  it('encodes UTF-8 bytes and decodes them back', () => {
    expect(bytes.vocabSize).toBe(256);
    expect(bytes.encode('A€')).toEqual([0x41, 0xe2, 0x82, 0xac]);
    for (const text of TRICKY_STRINGS) expect(bytes.decode(bytes.encode(text))).toBe(text);
  });

  it('replaces invalid UTF-8 with U+FFFD instead of failing', () => {
    expect(bytes.decode([0xff, 0x41])).toBe('\ufffdA');
    expect(bytes.decode([0xe2, 0x82, 0x41])).toBe('\ufffdA'); // a cut-off "€"
    expect(bytes.decode(Uint8Array.from([0xc3]))).toBe('\ufffd');
  });

  it('rejects ids outside the byte range', () => {
    expect(() => bytes.decode([65, 256])).toThrow(/ids\[1\]: got 256/);
    expect(() => bytes.decode([1.5])).toThrow(OctetArgumentError);
  });

  it('serialises to a tokenizer.json that @huggingface/tokenizers encodes identically', () => {
    const json = bytes.toJSON();
    expect(json.model.merges).toEqual([]);
    expect(json.model.vocab[BYTE_TO_UNICODE[32]]).toBe(32);
    expect(json.model.vocab.Ġ).toBe(32); // GPT-2's stand-in for a space
    const reference = huggingFace(json);
    const sample = loadBrown().val.slice(0, 3000);
    for (const text of [...TRICKY_STRINGS, sample]) {
      const ids = bytes.encode(text);
      expect(reference.encode(text).ids).toEqual(ids);
      if (ids.length > 0) expect(reference.decode(ids)).toBe(text);
    }
  });
});

describe('loadTokenizer', () => {
  const bpe = trainBpe(loadBrown().train.slice(0, 20_000), { vocabSize: 300 });

  it('chooses the tokenizer by the content of the JSON', () => {
    expect(loadTokenizer(new ByteTokenizer().toJSON())).toBeInstanceOf(ByteTokenizer);
    expect(loadTokenizer(JSON.stringify(new ByteTokenizer().toJSON()))).toBeInstanceOf(ByteTokenizer);
    const loaded = loadTokenizer(JSON.stringify(bpe.toJSON()));
    expect(loaded).toBeInstanceOf(BpeTokenizer);
    expect(loaded.toJSON()).toEqual(bpe.toJSON());
  });

  it('names the field of a tokenizer.json it cannot load', () => {
    const good = bpe.toJSON();
    const withNormalizer = { ...good, normalizer: { type: 'NFC' } };
    expect(() => loadTokenizer(withNormalizer)).toThrow(/normalizer: got an object \(Object\); allowed: null/);
    expect(() => loadTokenizer({ ...good, model: { ...good.model, type: 'WordPiece' } })).toThrow(/model.type: got "WordPiece"/);
    expect(() => loadTokenizer({ ...good, pre_tokenizer: { type: 'Whitespace' } })).toThrow(/pre_tokenizer/);
    expect(() => loadTokenizer({ ...good, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } })).toThrow(/add_prefix_space/);
    const badMerge = { ...good, model: { ...good.model, merges: ['Ġ t', 'q zz'] } };
    expect(() => loadTokenizer(badMerge)).toThrow(/merges\[1\]: got \["q", "zz"\]/);
    const { Ġ: _space, ...vocabWithGap } = good.model.vocab;
    expect(() => loadTokenizer({ ...good, model: { ...good.model, vocab: vocabWithGap } })).toThrow(/no token with id 32/);
    expect(() => loadTokenizer('{ not json')).toThrow(/tokenizer.json: got "text that is not JSON/);
  });
});
