/** Request bodies of the OpenAI-compatible routes, validated with zod (unknown fields are ignored, as OpenAI does). */
import { z } from 'zod';

const sampling = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Not in OpenAI's API; vLLM's extension. 0 or -1 keeps every token. */
  top_k: z.number().int().min(-1).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  n: z.literal(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().nullish(),
};

export const CompletionRequest = z.object({
  ...sampling,
  /** Text, or token ids. */
  prompt: z.union([z.string(), z.array(z.number().int().min(0)).min(1)]),
  echo: z.literal(false).nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

const textPart = z.object({ type: z.literal('text'), text: z.string() });

export const ChatCompletionRequest = z.object({
  ...sampling,
  max_completion_tokens: z.number().int().min(1).nullish(),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: z.union([z.string(), z.array(textPart)]),
      }),
    )
    .min(1),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;
