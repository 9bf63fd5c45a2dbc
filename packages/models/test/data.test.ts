import { OctetArgumentError } from '@octet/core';
import { describe, expect, it } from 'vitest';
import {
  BROWN_VALIDATION_STRIDE,
  brownToPlainText,
  loadBrown,
  packTokenIds,
  sequentialBatches,
  sequentialWindowCount,
  TokenDataset,
} from '../src/data/index.js';

describe('brownToPlainText', () => {
  it('strips tags, joins sentences into paragraphs and undoes the tokenisation', () => {
    const tagged = [
      '',
      '',
      "\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, Atlanta's/np$ Mayor/nn-tl Ivan/np Allen/np Jr./np ./.",
      'It/pps urged/vbd (/( again/rb )/) that/cs 1/2/cd was/bedz enough/ap ;/. ;/. right/rb ?/. ?/.',
      '',
      '',
      '',
      'Merger/nn-hl proposed/vbn-hl ',
      "However/wrb ,/, he/pps read/vbd '/' Met/np '/' and/cc '/' Times/np '/' --/-- fine/jj !/.",
      '',
    ].join('\n');
    expect(brownToPlainText(tagged)).toBe(
      [
        'The jury said "no evidence", Atlanta\'s Mayor Ivan Allen Jr. It urged (again) that 1/2 was enough; right?',
        'Merger proposed',
        "However, he read 'Met' and 'Times' -- fine!",
      ].join('\n\n'),
    );
  });
});

describe('loadBrown', () => {
  const corpus = loadBrown();

  it('splits the 500 files: every 10th in sorted order is validation', () => {
    const all = [...corpus.files.train, ...corpus.files.val].sort();
    expect(all).toHaveLength(500);
    expect(all[0]).toBe('ca01');
    expect(all[499]).toBe('cr09');
    expect(corpus.files.val).toHaveLength(50);
    expect(corpus.files.val).toEqual(all.filter((_, index) => (index + 1) % BROWN_VALIDATION_STRIDE === 0));
    expect(corpus.files.val.slice(0, 5)).toEqual(['ca10', 'ca20', 'ca30', 'ca40', 'cb06']);
    // Every genre letter (a..r without i, o, q) appears in validation.
    expect(new Set(corpus.files.val.map((name) => name[1])).size).toBe(15);
  });

  // Counts rather than toMatch, so that a failure does not print megabytes of corpus.
  const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

  it('returns plain text with no tags, no corpus quote marks, no doubled or detached punctuation', () => {
    for (const text of [corpus.train, corpus.val]) {
      expect(count(text, /\S\/(at|nn|vbd|in|np|jj)(\s|$)/g)).toBe(0);
      expect(count(text, /``/g)).toBe(0);
      expect(count(text, /(^|\s)''/g)).toBe(0); // '' survives only as inches, e.g. 10''
      expect(count(text, / [,;?!)]/g)).toBe(0);
      expect(count(text, /;;|\?\?|,,/g)).toBe(0);
    }
    expect(corpus.train.startsWith('The Fulton County Grand Jury said Friday an investigation of')).toBe(true);
    expect(corpus.train).toContain('produced "no evidence" that any irregularities took place.\n\n');
  });

  it('is large enough to train on and cached', () => {
    expect(corpus.train.length).toBeGreaterThan(5_000_000);
    expect(corpus.val.length).toBeGreaterThan(500_000);
    expect(loadBrown()).toBe(corpus);
  });
});

describe('TokenDataset', () => {
  const tokens = Int32Array.from({ length: 1000 }, (_, i) => i);
  const shape = { batchSize: 4, contextLength: 16 };

  it('yields windows of consecutive tokens with targets shifted by one', () => {
    const dataset = new TokenDataset(tokens, { ...shape, seed: 7 });
    const { inputs, targets, batchSize, contextLength } = dataset.nextBatch();
    expect([batchSize, contextLength]).toEqual([4, 16]);
    expect(inputs).toHaveLength(64);
    for (let row = 0; row < 4; row++) {
      const start = inputs[row * 16];
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start + 16).toBeLessThan(tokens.length); // the last target is still inside the sequence
      for (let t = 0; t < 16; t++) {
        expect(inputs[row * 16 + t]).toBe(start + t);
        expect(targets[row * 16 + t]).toBe(start + t + 1);
      }
    }
  });

  it('reaches both ends of the sequence and spreads its windows', () => {
    const small = Int32Array.from({ length: 20 }, (_, i) => i);
    const dataset = new TokenDataset(small, { batchSize: 8, contextLength: 4, seed: 1 });
    const starts = new Set<number>();
    for (let step = 0; step < 50; step++) {
      const { inputs } = dataset.nextBatch();
      for (let row = 0; row < 8; row++) starts.add(inputs[row * 4]);
    }
    expect([...starts].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it('is determined by the seed, and different seeds give different batches', () => {
    const a = new TokenDataset(tokens, { ...shape, seed: 3 });
    const b = new TokenDataset(tokens, { ...shape, seed: 3 });
    const c = new TokenDataset(tokens, { ...shape, seed: 4 });
    const first = a.nextBatch();
    expect(b.nextBatch()).toEqual(first);
    expect(c.nextBatch().inputs).not.toEqual(first.inputs);
    expect(a.nextBatch().inputs).not.toEqual(first.inputs);
  });

  it('resumes exactly from a saved state', () => {
    const original = new TokenDataset(tokens, { ...shape, seed: 11 });
    for (let i = 0; i < 5; i++) original.nextBatch();
    const saved = JSON.parse(JSON.stringify(original.state()));
    expect(saved).toEqual({ seed: 11, step: 5 });
    const expected = [original.nextBatch(), original.nextBatch()];

    const resumed = new TokenDataset(tokens, { ...shape, seed: 0 });
    resumed.restore(saved);
    expect([resumed.nextBatch(), resumed.nextBatch()]).toEqual(expected);
    expect(resumed.batchAt(5)).toEqual(expected[0]);
    expect(resumed.state()).toEqual({ seed: 11, step: 7 });
  });

  it('accepts Uint16Array and plain arrays of ids', () => {
    const ids = Array.from({ length: 100 }, (_, i) => (i * 37) % 60000);
    const fromArray = new TokenDataset(ids, { batchSize: 2, contextLength: 8, seed: 5 }).nextBatch();
    const fromUint16 = new TokenDataset(Uint16Array.from(ids), { batchSize: 2, contextLength: 8, seed: 5 }).nextBatch();
    expect(fromUint16).toEqual(fromArray);
  });

  it('rejects shapes the sequence cannot fill and malformed states', () => {
    expect(() => new TokenDataset(new Int32Array(16), { batchSize: 1, contextLength: 16 })).toThrow(/at least contextLength \+ 1 = 17/);
    expect(() => new TokenDataset(tokens, { batchSize: 0, contextLength: 16 })).toThrow(OctetArgumentError);
    expect(() => new TokenDataset(tokens, { ...shape, seed: -1 })).toThrow(/seed/);
    const dataset = new TokenDataset(tokens, shape);
    expect(() => dataset.restore({ seed: 1, step: 1.5 })).toThrow(/state.step/);
  });
});

describe('sequentialBatches', () => {
  it('covers the sequence once with non-overlapping windows, in order', () => {
    const tokens = Int32Array.from({ length: 103 }, (_, i) => i);
    const batches = [...sequentialBatches(tokens, { batchSize: 4, contextLength: 10 })];
    // (103 - 1) / 10 → 10 windows: batches of 4, 4 and 2 rows.
    expect(sequentialWindowCount(103, 10)).toBe(10);
    expect(batches.map((batch) => batch.batchSize)).toEqual([4, 4, 2]);
    const inputs = batches.flatMap((batch) => Array.from(batch.inputs));
    const targets = batches.flatMap((batch) => Array.from(batch.targets));
    expect(inputs).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(targets).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('uses the very last token when the length is a multiple of T plus one', () => {
    const tokens = Int32Array.from({ length: 21 }, (_, i) => i);
    const [batch, ...rest] = sequentialBatches(tokens, { batchSize: 8, contextLength: 10 });
    expect(rest).toHaveLength(0);
    expect(batch.batchSize).toBe(2);
    expect(batch.targets[19]).toBe(20);
  });
});

describe('packTokenIds', () => {
  it('chooses Uint16Array when the vocabulary fits, Int32Array otherwise', () => {
    expect(packTokenIds([1, 2, 65535], 65536)).toEqual(Uint16Array.from([1, 2, 65535]));
    expect(packTokenIds([1, 70000], 100000)).toEqual(Int32Array.from([1, 70000]));
    expect(() => packTokenIds([1, 256], 256)).toThrow(/ids\[1\]: got 256; allowed: an integer in \[0, 256\)/);
  });
});
