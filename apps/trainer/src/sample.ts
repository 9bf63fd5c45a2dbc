/** The short sample at the end of a run, decoded with the model's KV cache (`GptDecoder`). */
import { Random } from '@octet/core';
import { type ByteTokenizer, type Gpt, GptDecoder, sampleToken } from '@octet/models';

/** Samples `count` tokens after `prompt` (temperature 0.8, seeded); the context is the last `contextLength` tokens. */
export async function generate(model: Gpt, tokenizer: ByteTokenizer, prompt: string, count: number, seed: number): Promise<string> {
  const { contextLength, vocabSize } = model.config;
  const decoder = new GptDecoder(model);
  const random = new Random(seed);
  const ids = [...tokenizer.encode(prompt)];
  const window = () => ids.slice(-contextLength);
  let { logits, cache } = await decoder.prefill(window());
  let cached = Math.min(ids.length, contextLength);
  let last = logits.subarray(logits.length - vocabSize);
  try {
    for (let i = 0; i < count; i++) {
      const token = sampleToken(last, { temperature: 0.8, topP: 1, topK: 0 }, random);
      ids.push(token);
      if (i === count - 1) break;
      if (cached < contextLength) {
        const [next] = await decoder.decode([{ token, cache }]);
        ({ logits, cache } = next!);
        cached++;
      } else {
        // The cache is full: start again from the last `contextLength` tokens (positions restart at 0).
        decoder.release(cache);
        ({ logits, cache } = await decoder.prefill(window()));
      }
      last = logits.subarray(logits.length - vocabSize);
    }
  } finally {
    decoder.release(cache);
    model.setTraining(true);
  }
  return tokenizer.decode(ids);
}
