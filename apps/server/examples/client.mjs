// The official OpenAI client against octet-serve: `node apps/server/examples/client.mjs` while the
// server from the README runs on port 8000 with the octet-tiny checkpoint.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: 'http://127.0.0.1:8000/v1', apiKey: 'unused' });

const completion = await client.completions.create({ model: 'octet-tiny', prompt: 'The ', max_tokens: 16, temperature: 0 });
console.log(JSON.stringify(completion.choices[0].text), completion.choices[0].finish_reason, completion.usage);

const stream = await client.chat.completions.create({
  model: 'octet-tiny',
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 16,
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta.content ?? '');
  if (chunk.usage) console.log('\n', chunk.usage);
}
