/** Prometheus metrics (prom-client), in a registry of their own so tests and embedders stay isolated. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'octet_requests_total',
      help: 'HTTP requests by route and status code.',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'octet_request_duration_seconds',
      help: 'Time from request to the last byte of the response, by route.',
      labelNames: ['route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    tokens: new Counter({
      name: 'octet_tokens_total',
      help: 'Tokens processed: prompt (prefilled) and completion (generated).',
      labelNames: ['kind'] as const,
      registers,
    }),
    timeToFirstTokenSeconds: new Histogram({
      name: 'octet_time_to_first_token_seconds',
      help: 'Time from queueing a request to its first generated token.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    decodeStepSeconds: new Histogram({
      name: 'octet_decode_step_seconds',
      help: 'Time of one batched decode step (one token for every active sequence).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    batchSize: new Histogram({
      name: 'octet_batch_size',
      help: 'Sequences decoded together per step.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    queueDepth: new Gauge({ name: 'octet_queue_depth', help: 'Requests waiting for a decode slot.', registers }),
    activeSequences: new Gauge({ name: 'octet_active_sequences', help: 'Sequences being decoded.', registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
