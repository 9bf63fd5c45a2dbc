/**
 * The serve benchmark's clients, on a thread of their own (as remote clients would be) so the
 * server's event loop runs only the server. Each message is a load (`ClientLoad` in serve.ts):
 * `clients` concurrent clients, each sending `requests` non-streamed completion requests one
 * after another. The answer holds each request's latency and generated tokens and the load's
 * wall time, or the first failure. Plain JavaScript: a worker thread does not inherit the
 * TypeScript loader the bench runs under.
 */
import { parentPort } from 'node:worker_threads';

async function request(url, body, seed) {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, seed }),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`request failed: ${response.status} ${JSON.stringify(answer)}`);
  return { ms: performance.now() - started, tokens: answer.usage.completion_tokens };
}

async function run({ url, clients, requests, body }) {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const mine = [];
      for (let r = 0; r < requests; r++) mine.push(await request(url, body, client * 1000 + r));
      return mine;
    }),
  );
  return { results: results.flat(), seconds: (performance.now() - started) / 1000 };
}

parentPort.on('message', (load) => {
  run(load).then(
    (answer) => parentPort.postMessage(answer),
    (error) => parentPort.postMessage({ error: error.message }),
  );
});
