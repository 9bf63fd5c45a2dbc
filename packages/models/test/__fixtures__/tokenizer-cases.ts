import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';

/** Strings that trip tokenizers up: contractions, scripts, emoji sequences, whitespace runs, digits, BOMs. */
export const TRICKY_STRINGS = [
  "Hello, world! It's 2024; we'll see... they're 100% sure I'd've done it.",
  "I'M SHOUTING, DON'T YOU SEE? o'clock 'quoted' ''double''",
  'naïve café — résumé, Ελληνικά, русский, 日本語のテキスト, 한국어, עברית, العربية',
  'emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇺🇸 math 𝔸𝔹ℂ',
  'a  b   c\t\td\n\n\ne    \n  f   ',
  '   leading spaces and trailing   ',
  '3.14159 1,000,000 0x1F 2024-01-01 12345678901234567890 ٣٤٥ ½',
  'windows\r\nline endings\rand nbsp\u00a0here, zero\u200bwidth, bom\ufeffmid',
  '\ufeffstarts with a byte-order mark',
  '<|endoftext|> looks special but is not here',
  '',
];

/** Loads a tokenizer.json into @huggingface/tokenizers, with its decode-time space cleanup off. */
export function huggingFace(json: object): HuggingFaceTokenizer {
  return new HuggingFaceTokenizer(JSON.parse(JSON.stringify(json)), { clean_up_tokenization_spaces: false });
}
