import { check } from '../errors.js';

/**
 * Checks a batched decoding step's sequences against a model: at least one, each bringing at
 * least one token id in the vocabulary, none growing past the context. Errors name the item.
 * Shared by every decoder (octet's KV cache, ONNX Runtime's).
 */
export function checkStepItems(
  items: readonly { tokens: readonly number[]; cache: { length: number } }[],
  { contextLength, vocabSize: V }: { contextLength: number; vocabSize: number },
): void {
  check(items.length > 0, 'decode batch', '[]', 'at least one sequence');
  for (const [i, { tokens, cache }] of items.entries()) {
    check(tokens.length > 0, `batch item ${i} tokens`, '[]', 'at least one token id');
    const length = cache.length + tokens.length;
    check(length <= contextLength, `batch item ${i} length`, length, `at most the context length ${contextLength}`);
    for (const id of tokens) check(Number.isInteger(id) && id >= 0 && id < V, `batch item ${i} token id`, id, `an integer in [0, ${V})`);
  }
}
