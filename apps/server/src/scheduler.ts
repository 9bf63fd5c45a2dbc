/**
 * Continuous batching. Requests wait in a bounded queue; up to `maxBatch` sequences are active.
 * Each turn of the loop admits waiting requests into free slots and runs ONE batched step: the new
 * prompts are prefilled beside every active sequence's next token, then each sequence samples its
 * next token and streams its text. A sequence that
 * finishes (stop sequence, max_tokens, context full) or is cancelled (its client went away) leaves
 * at once, and a waiting request takes its slot on the next turn.
 */

import { Random } from '@octet/core';
import { type SamplingOptions, sampleToken } from '@octet/models';
import type { Metrics } from './metrics.js';
import type { KvCache, ServedModel } from './model.js';

export type FinishReason = 'stop' | 'length';

export interface GenerationRequest {
  promptTokens: number[];
  maxTokens: number;
  sampling: SamplingOptions;
  seed: number;
  stop: string[];
  /** New text, as soon as it is certain not to be part of a stop sequence. */
  onText(delta: string): void;
  onDone(result: { finishReason: FinishReason; completionTokens: number }): void;
  onError(error: Error): void;
}

export interface GenerationHandle {
  /** Stops generating and frees the slot (the client disconnected). */
  cancel(): void;
}

export class QueueFullError extends Error {
  constructor(readonly capacity: number) {
    super(`the request queue is full (${capacity} waiting); retry later`);
  }
}

class Sequence {
  readonly generated: number[] = [];
  cache: KvCache | null = null;
  emitted = 0;
  cancelled = false;
  done = false;
  readonly random: Random;
  readonly startedAt = performance.now();
  firstTokenAt: number | null = null;

  constructor(readonly request: GenerationRequest) {
    this.random = new Random(request.seed);
  }
}

export interface SchedulerOptions {
  /** Sequences decoded together per step. */
  maxBatch: number;
  /** Requests that may wait for a slot; one more is refused with QueueFullError (HTTP 429). */
  maxQueue: number;
}

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private active: Sequence[] = [];
  private running = false;

  constructor(
    private readonly model: ServedModel,
    private readonly options: SchedulerOptions,
    private readonly metrics: Metrics,
  ) {}

  get queueDepth(): number {
    return this.waiting.length;
  }

  get activeCount(): number {
    return this.active.length;
  }

  /** Queues a request; throws QueueFullError when the queue is full. */
  submit(request: GenerationRequest): GenerationHandle {
    if (this.waiting.length >= this.options.maxQueue) throw new QueueFullError(this.options.maxQueue);
    const sequence = new Sequence(request);
    this.waiting.push(sequence);
    this.updateGauges();
    this.kick();
    return { cancel: () => this.cancel(sequence) };
  }

  private cancel(sequence: Sequence): void {
    if (sequence.done) return;
    sequence.cancelled = true;
    sequence.done = true;
    const queued = this.waiting.indexOf(sequence);
    if (queued >= 0) this.waiting.splice(queued, 1);
    this.active = this.active.filter((s) => s !== sequence);
    // A cache held now is freed here; one inside an in-flight step is freed when the step returns.
    if (sequence.cache !== null) {
      this.model.release(sequence.cache);
      sequence.cache = null;
    }
    this.updateGauges();
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.waiting.length > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    // Start on the next turn of the event loop, so requests that arrive together are prefilled together.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0 || this.active.length > 0) {
      while (this.active.length < this.options.maxBatch && this.waiting.length > 0) this.active.push(this.waiting.shift()!);
      this.updateGauges();
      const batch = this.active.filter((s) => !s.done);
      if (batch.length > 0) {
        const started = performance.now();
        await this.guard(batch, async () => {
          const items = batch.map((s) => ({ tokens: s.cache === null ? s.request.promptTokens : [s.generated.at(-1)!], cache: s.cache }));
          for (const s of batch) s.cache = null; // owned by the step now
          const results = await this.model.step(items);
          this.metrics.batchSize.observe(batch.length);
          this.metrics.decodeStepSeconds.observe((performance.now() - started) / 1000);
          for (const [i, s] of batch.entries()) this.advance(s, results[i]!.logits, results[i]!.cache);
        });
      }
      this.active = this.active.filter((s) => !s.done);
      this.updateGauges();
      // Let the event loop accept connections and flush streamed text between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Runs a model call; if it throws, the sequences in it fail with the error rather than hang. */
  private async guard(sequences: Sequence[], step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      for (const s of sequences) {
        if (s.done) continue;
        s.done = true;
        s.request.onError(error as Error);
      }
    }
  }

  /** Samples the next token from `logits`, streams text, and finishes the sequence when it should stop. */
  private advance(sequence: Sequence, logits: Float32Array, cache: KvCache): void {
    if (sequence.cancelled) {
      this.model.release(cache);
      return;
    }
    sequence.cache = cache;
    const { request } = sequence;
    const token = sampleToken(logits, request.sampling, sequence.random);
    sequence.generated.push(token);
    this.metrics.tokens.inc({ kind: 'completion' });
    if (sequence.firstTokenAt === null) {
      sequence.firstTokenAt = performance.now();
      this.metrics.timeToFirstTokenSeconds.observe((sequence.firstTokenAt - sequence.startedAt) / 1000);
    }
    const { contextLength } = this.model.config;
    // One more token needs the prompt and every token generated so far in the context.
    const atLimit =
      sequence.generated.length >= request.maxTokens || request.promptTokens.length + sequence.generated.length > contextLength;
    const text = this.model.tokenizer.decode(sequence.generated);
    const stopAt = firstStop(text, request.stop);
    if (stopAt !== null) {
      this.finish(sequence, text.slice(0, stopAt), 'stop');
      return;
    }
    if (atLimit) {
      this.finish(sequence, text, 'length');
      return;
    }
    const safe = text.endsWith('\uFFFD') ? text.length - 1 : text.length - heldBack(text, request.stop);
    if (safe > sequence.emitted) {
      request.onText(text.slice(sequence.emitted, safe));
      sequence.emitted = safe;
    }
  }

  private finish(sequence: Sequence, finalText: string, finishReason: FinishReason): void {
    if (finalText.length > sequence.emitted) sequence.request.onText(finalText.slice(sequence.emitted));
    sequence.done = true;
    if (sequence.cache !== null) this.model.release(sequence.cache);
    sequence.cache = null;
    sequence.request.onDone({ finishReason, completionTokens: sequence.generated.length });
  }

  private updateGauges(): void {
    this.metrics.queueDepth.set(this.waiting.length);
    this.metrics.activeSequences.set(this.active.length);
  }
}

/** Index of the earliest stop sequence in `text`, or null. */
function firstStop(text: string, stops: readonly string[]): number | null {
  let first: number | null = null;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (first === null || at < first)) first = at;
  }
  return first;
}

/** Length of the longest end of `text` that could still grow into a stop sequence. */
function heldBack(text: string, stops: readonly string[]): number {
  let held = 0;
  for (const stop of stops) {
    for (let n = Math.min(stop.length - 1, text.length); n > held; n--) {
      if (text.endsWith(stop.slice(0, n))) {
        held = n;
        break;
      }
    }
  }
  return held;
}
