/**
 * Incremental decoding of an exported GPT on onnxruntime-node's CPU provider: a prompt is
 * prefilled once, then each step feeds one new token per sequence with the cached keys and
 * values. Several sequences of different lengths decode together in one session run: their caches
 * and new tokens are left-padded to the longest and masked with attention_mask.
 */
import { check, checkStepItems } from '@octet/core';
import ort from 'onnxruntime-node';
import { exportToOnnx, type OnnxGraphSource } from './export.js';

/** What the generator needs to know of a decoder-only model's shape. */
export interface OnnxDecoderConfig {
  layers: number;
  heads: number;
  dim: number;
  vocabSize: number;
  contextLength: number;
}

/**
 * A decoder-only model whose graph follows the KV-cache contract: inputs `input_ids` (B, T),
 * `attention_mask` (B, P+T), `position_ids` (B, T) and `past_key_values.<l>.key|value`
 * (B, H, P, D); outputs `logits` (B, T, V) and `present.<l>.key|value` (B, H, P+T, D). A Gpt is one.
 */
export interface OnnxGptSource<C extends OnnxDecoderConfig = OnnxDecoderConfig> extends OnnxGraphSource {
  readonly config: C;
}

/** One sequence's cached keys (after RoPE) and values: per layer a (H, length, D) f32 array. */
export interface OnnxKvCache {
  length: number;
  keys: Float32Array[];
  values: Float32Array[];
}

export interface OnnxGeneratorOptions {
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /**
   * true (default): ONNX Runtime dequantizes the FP8 weights once, when the session loads, and
   * keeps them as f32 (4 bytes per weight in memory; the file stays at one). false: it keeps the
   * FP8 initializers and runs their DequantizeLinear nodes on every call.
   */
  foldWeights?: boolean;
}

export class OnnxGptGenerator<C extends OnnxDecoderConfig = OnnxDecoderConfig> {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: C,
    /** Size of the exported model in bytes. */
    readonly modelBytes: number,
  ) {}

  /** Exports `source` (e.g. a Gpt on the active tensor backend) and opens an ONNX Runtime session on it. */
  static async create<C extends OnnxDecoderConfig>(
    source: OnnxGptSource<C>,
    { threads, foldWeights = true }: OnnxGeneratorOptions = {},
  ): Promise<OnnxGptGenerator<C>> {
    check(typeof foldWeights === 'boolean', 'foldWeights', foldWeights, 'true or false');
    const bytes = await exportToOnnx(source, { kvCache: true });
    const config = source.config;
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
      // ONNX Runtime's constant folding leaves DequantizeLinear nodes alone (for its QDQ fusions)
      // unless those fusions are off; the graph has none to fuse (activations go through Cast).
      ...(foldWeights ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
    });
    return new OnnxGptGenerator(session, { ...config }, bytes.byteLength);
  }

  private get headDim(): number {
    return this.config.dim / this.config.heads;
  }

  /** An empty cache for a new sequence. */
  emptyCache(): OnnxKvCache {
    return { length: 0, keys: [], values: [] };
  }

  /**
   * Runs `tokens` through the model after what `cache` holds (a new sequence when omitted) and
   * returns the logits of every new position (T, vocab) with the extended cache.
   */
  async prefill(tokens: readonly number[], cache: OnnxKvCache = this.emptyCache()): Promise<{ logits: Float32Array; cache: OnnxKvCache }> {
    check(tokens.length > 0, 'prefill tokens', '[]', 'at least one token id');
    const [result] = await this.run([{ tokens, cache }]);
    return result!;
  }

  /** One decode step for several sequences: token i follows cache i. Returns each sequence's next-token logits (vocab) and new cache. */
  async decode(steps: readonly { token: number; cache: OnnxKvCache }[]): Promise<{ logits: Float32Array; cache: OnnxKvCache }[]> {
    return this.run(steps.map(({ token, cache }) => ({ tokens: [token], cache })));
  }

  /**
   * One step for sequences bringing different numbers of new tokens (prompts beside decoding
   * sequences); returns each one's next-token logits (vocab) and new cache. Sequences are grouped
   * by token count, one session run per group, so a one-token decode is never padded to a prompt.
   */
  async step(
    items: readonly { tokens: readonly number[]; cache?: OnnxKvCache }[],
  ): Promise<{ logits: Float32Array; cache: OnnxKvCache }[]> {
    const V = this.config.vocabSize;
    const groups = new Map<number, number[]>();
    items.forEach(({ tokens }, i) => {
      const key = tokens.length === 1 ? 1 : 0; // decoding sequences apart from prompts
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const results = new Array<{ logits: Float32Array; cache: OnnxKvCache }>(items.length);
    for (const indices of groups.values()) {
      const group = indices.map((i) => ({ tokens: items[i]!.tokens, cache: items[i]!.cache ?? this.emptyCache() }));
      const outputs = await this.run(group);
      outputs.forEach(({ logits, cache }, j) => {
        results[indices[j]!] = { logits: logits.slice(logits.length - V), cache };
      });
    }
    return results;
  }

  /**
   * The batched run under prefill, decode and step. Each sequence's cache and new tokens are
   * left-padded (to the longest cache P and the most new tokens T), padding masked out:
   * [cache padding | cache | token padding | tokens]. Returns the logits of every new position.
   */
  private async run(
    items: readonly { tokens: readonly number[]; cache: OnnxKvCache }[],
  ): Promise<{ logits: Float32Array; cache: OnnxKvCache }[]> {
    const { layers, heads: H, vocabSize: V } = this.config;
    const D = this.headDim;
    const B = items.length;
    checkStepItems(items, this.config);
    const P = Math.max(...items.map((item) => item.cache.length));
    const T = Math.max(...items.map((item) => item.tokens.length));
    const ids = new BigInt64Array(B * T);
    const positions = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * (P + T));
    items.forEach(({ tokens, cache }, b) => {
      const pad = T - tokens.length;
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = t < pad ? 0n : BigInt(tokens[t - pad]!);
        positions[b * T + t] = BigInt(cache.length + Math.max(0, t - pad));
      }
      for (let j = P - cache.length; j < P; j++) mask[b * (P + T) + j] = 1n;
      for (let j = P + pad; j < P + T; j++) mask[b * (P + T) + j] = 1n;
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      attention_mask: new ort.Tensor('int64', mask, [B, P + T]),
      position_ids: new ort.Tensor('int64', positions, [B, T]),
    };
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        const padded = new Float32Array(B * H * P * D);
        items.forEach(({ cache }, b) => {
          const own = kind === 'key' ? cache.keys[l] : cache.values[l];
          if (!own) return;
          const L = cache.length;
          for (let h = 0; h < H; h++) padded.set(own.subarray(h * L * D, (h + 1) * L * D), ((b * H + h) * P + (P - L)) * D);
        });
        feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', padded, [B, H, P, D]);
      }
    }
    const outputs = await this.session.run(feeds);
    const logits = outputs.logits!.data as Float32Array; // (B, T, V)
    const total = P + T;
    return items.map(({ tokens, cache }, b) => {
      const past = cache.length;
      const fresh = tokens.length;
      const L = past + fresh;
      // This sequence's entries: its cache at [P - past, P), its new tokens at [total - fresh, total).
      const slice = (name: string) => {
        const present = outputs[name]!.data as Float32Array; // (B, H, P+T, D)
        const own = new Float32Array(H * L * D);
        for (let h = 0; h < H; h++) {
          const row = (b * H + h) * total;
          own.set(present.subarray((row + P - past) * D, (row + P) * D), h * L * D);
          own.set(present.subarray((row + total - fresh) * D, (row + total) * D), (h * L + past) * D);
        }
        return own;
      };
      const next: OnnxKvCache = { length: L, keys: [], values: [] };
      for (let l = 0; l < layers; l++) {
        next.keys.push(slice(`present.${l}.key`));
        next.values.push(slice(`present.${l}.value`));
      }
      return { logits: logits.slice((b * T + T - fresh) * V, (b + 1) * T * V), cache: next };
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Opens an ONNX Runtime generator on a model's export (e.g. a Gpt loaded from a checkpoint). */
export function createOnnxGenerator<C extends OnnxDecoderConfig>(
  source: OnnxGptSource<C>,
  options: OnnxGeneratorOptions = {},
): Promise<OnnxGptGenerator<C>> {
  return OnnxGptGenerator.create(source, options);
}
