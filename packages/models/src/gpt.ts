/**
 * GPT: token embedding, blocks of (attention with RoPE, MLP), final RMSNorm, untied LM head.
 * The recipe picks the numerics of every hidden Linear (FP8 under unitScaling/delayed/current) and
 * the parametrisation: standard pre-LN GPT-2 init, or μnit Scaling's unit-scaled layout.
 */
import {
  type ActivationStorage,
  type AttentionCache,
  Block,
  type BlockOptions,
  check,
  checkpoint,
  Embedding,
  ENGINE,
  type GraphEmitter,
  Linear,
  Module,
  op,
  type Recipe,
  RMSNorm,
  recipeByName,
  type Tensor,
  tidy,
  type Variable,
} from '@octet/core';
import { emitGptGraph } from './gpt-graph.js';

export interface GptConfig {
  /** Tokens in the vocabulary (256 for the byte tokenizer). */
  vocabSize: number;
  /** Longest sequence the model is trained on. */
  contextLength: number;
  layers: number;
  /** Width of the residual stream. */
  dim: number;
  /** Attention heads; dim / heads is the head dimension. */
  heads: number;
  /** MLP hidden width (4·dim for GELU). */
  mlpHidden: number;
  activation: 'gelu' | 'swiglu';
  ropeBase: number;
  /** Numerics of hidden Linears and parametrisation: 'unitScaling' | 'delayed' | 'current' | 'f32' | 'bf16'. */
  recipe: string;
  /** μnit Scaling's residual weight τ. */
  tau: number;
  seed: number;
  /** How activations are saved for backward: FP8 (COAT) or f32; the recipe's default when omitted. */
  activations?: ActivationStorage;
  /** Forward recomputed in backward to save memory: nothing, attention probabilities, or whole blocks. */
  recompute?: Recompute;
}

export type Recompute = 'none' | 'attention' | 'block';
export const RECOMPUTE_MODES: readonly Recompute[] = ['none', 'attention', 'block'];

export const GPT_PRESETS = {
  /** Unit tests and conformance: a few thousand parameters. */
  tiny: { vocabSize: 256, contextLength: 32, layers: 2, dim: 32, heads: 2, mlpHidden: 128 },
  /** The default: trains on Brown on two CPU cores in minutes. */
  small: { vocabSize: 256, contextLength: 128, layers: 4, dim: 128, heads: 4, mlpHidden: 512 },
  medium: { vocabSize: 256, contextLength: 256, layers: 6, dim: 256, heads: 8, mlpHidden: 1024 },
} as const satisfies Record<string, Partial<GptConfig>>;

export type GptPresetName = keyof typeof GPT_PRESETS;

export function gptConfig(preset: string, overrides: Partial<GptConfig> = {}): GptConfig {
  check(
    preset in GPT_PRESETS,
    'model preset',
    preset,
    Object.keys(GPT_PRESETS)
      .map((n) => JSON.stringify(n))
      .join(', '),
  );
  return {
    activation: 'gelu',
    ropeBase: 10000,
    recipe: 'unitScaling',
    tau: 0.5,
    seed: 0,
    ...GPT_PRESETS[preset as GptPresetName],
    ...overrides,
  };
}

/**
 * A KV cache for `Gpt.forward`: where each block's attention finds earlier positions, and which
 * rows the head runs on (a decoder needs only each sequence's last).
 */
export interface GptCache {
  layer(index: number): AttentionCache;
  /** The final norm's output (B, T, C) → the rows the head runs on. */
  headRows?(normed: Tensor): Tensor;
}

export interface GptOptions {
  /** Builds each block (default: core's Block): a block variant is this one function. */
  createBlock?: (options: BlockOptions) => Block;
}

export class Gpt extends Module {
  readonly recipe: Recipe;
  readonly embedding: Embedding;
  readonly blocks: Block[];
  readonly finalNorm: RMSNorm;
  readonly head: Linear;
  /** What backward recomputes instead of keeping: attention probabilities (the default), whole blocks, or nothing. */
  readonly recompute: Recompute;

  constructor(
    readonly config: GptConfig,
    { createBlock = (options) => new Block(options) }: GptOptions = {},
  ) {
    super();
    const { vocabSize, contextLength, layers, dim, heads, mlpHidden } = config;
    for (const [name, value] of Object.entries({ vocabSize, contextLength, layers, dim, heads, mlpHidden })) {
      check(Number.isInteger(value) && value > 0, `GptConfig.${name}`, value, 'a positive integer');
    }
    check(dim % heads === 0 && (dim / heads) % 2 === 0, 'GptConfig.heads', heads, `a divisor of dim ${dim} leaving an even head dimension`);
    check(
      config.recompute === undefined || RECOMPUTE_MODES.includes(config.recompute),
      'GptConfig.recompute',
      config.recompute,
      RECOMPUTE_MODES.map((m) => JSON.stringify(m)).join(', '),
    );
    this.recipe = recipeByName(config.recipe, { tau: config.tau, activations: config.activations });
    this.recompute = config.recompute ?? 'attention';
    const unit = this.recipe.parametrization === 'unit';
    const std = unit ? 1 : 0.02;
    this.embedding = this.addModule('embedding', new Embedding(vocabSize, dim, { initStd: std, seed: config.seed }));
    this.blocks = [];
    for (let l = 0; l < layers; l++) {
      const block = createBlock({
        dim,
        heads,
        mlpHidden,
        activation: config.activation,
        recipe: this.recipe,
        seed: config.seed + 100 * (l + 1),
        layers,
        ropeBase: config.ropeBase,
        recomputeProbabilities: this.recompute !== 'none',
      });
      this.blocks.push(this.addModule(`blocks.${l}`, block));
    }
    this.finalNorm = this.addModule('final_norm', new RMSNorm(dim, { activations: this.recipe.activations }));
    // The head stays in high precision (as in μnit Scaling and TransformerEngine practice).
    this.head = this.addModule(
      'head',
      new Linear(dim, vocabSize, {
        recipe: this.recipe,
        initStd: std,
        seed: config.seed + 7,
        alpha: unit ? 1 / Math.sqrt(dim) : 1,
        highPrecision: true,
      }),
    );
    this.nameVariables();
  }

  /**
   * ids (B, T) int32 → logits (B, T, vocab) f32. `onActivation` sees each stage's output
   * (`embedding`, `blocks.N`, `final_norm`, `logits`), e.g. to find where non-finite values start.
   * With a cache, the new positions follow the cached ones (the cache checks their lengths).
   */
  forward(ids: Tensor, onActivation?: (name: string, activation: Tensor) => void, cache?: GptCache): Tensor {
    check(
      ids.rank === 2 && (cache !== undefined || ids.shape[1]! <= this.config.contextLength),
      'Gpt input ids',
      `[${ids.shape.join(', ')}]`,
      `(batch, T) with T ≤ ${this.config.contextLength}`,
    );
    return tidy(() => {
      let h = this.embedding.apply(ids); // (B, T, C)
      onActivation?.('embedding', h);
      this.blocks.forEach((block, l) => {
        // Under 'block' recomputation a block keeps only its input for backward.
        const next =
          this.recompute === 'block' && ENGINE.recording
            ? checkpoint((x) => block.apply(x), h, block.parameters())
            : block.apply(h, cache?.layer(l));
        // The residual stream goes as soon as the next block has read it (what backward needs of it
        // is saved), unless an observer was handed it.
        if (!onActivation) h.dispose();
        h = next;
        onActivation?.(`blocks.${l}`, h);
      });
      const normed = this.finalNorm.apply(h);
      onActivation?.('final_norm', normed);
      const logits = this.head.apply(cache?.headRows ? cache.headRows(normed) : normed); // (B, T, V)
      onActivation?.('logits', logits);
      return logits;
    });
  }

  /**
   * The forward as an ONNX graph (see gpt-graph.ts): inputs `input_ids` and, with `kvCache`,
   * `attention_mask`, `position_ids` and `past_key_values.<l>.key|value`; outputs `logits` and
   * `present.<l>.key|value`. Weights are read from the active tensor backend.
   */
  emitGraph(g: GraphEmitter, options: { kvCache: boolean }): { name: string; docString: string } {
    return emitGptGraph(this, g, options);
  }

  /** Mean next-token cross-entropy of (B, T) inputs against (B, T) targets. */
  loss(ids: Tensor, targets: Tensor): Tensor {
    return tidy(() => {
      const logits = this.forward(ids);
      const rows = logits.size / this.config.vocabSize;
      return op.mean(op.softmaxCrossEntropy(op.reshape(logits, [rows, this.config.vocabSize]), op.reshape(targets, [rows])));
    });
  }

  /** Switches delayed-scaling amax recording on (training) or off (evaluation). */
  setTraining(training: boolean): void {
    for (const block of this.blocks) {
      for (const linear of [
        block.attention.q,
        block.attention.k,
        block.attention.v,
        block.attention.out,
        block.mlp.up,
        block.mlp.down,
        block.mlp.gate,
      ]) {
        if (linear) linear.training = training;
      }
    }
  }

  /** All hidden Linears by path, e.g. `blocks.0.attn.q`. */
  hiddenLinears(): [string, Linear][] {
    return this.blocks.flatMap((block, l) => {
      const { attention: a, mlp: m } = block;
      const named: [string, Linear | null][] = [
        ['attn.q', a.q],
        ['attn.k', a.k],
        ['attn.v', a.v],
        ['attn.out', a.out],
        ['mlp.up', m.up],
        ['mlp.gate', m.gate],
        ['mlp.down', m.down],
      ];
      return named
        .filter((e): e is [string, Linear] => e[1] !== null)
        .map(([name, linear]) => [`blocks.${l}.${name}`, linear] as [string, Linear]);
    });
  }

  /**
   * Parameter groups for the optimizer. Standard: weight decay on 2-D weights only. Unit (μnit
   * Scaling): hidden weights' lr × fan_in^-½ × layers^-½, so the best lr carries across widths and depths.
   */
  parameterGroups(): { name: string; params: Variable[]; lrScale: number; weightDecay: boolean }[] {
    const unit = this.recipe.parametrization === 'unit';
    const hidden = new Set(this.hiddenLinears().map(([, linear]) => linear.weight));
    const groups = new Map<string, { name: string; params: Variable[]; lrScale: number; weightDecay: boolean }>();
    for (const [, param] of this.namedParameters()) {
      let key: string;
      let lrScale = 1;
      if (hidden.has(param)) {
        const fanIn = param.shape[1]!;
        lrScale = unit ? 1 / Math.sqrt(fanIn * this.config.layers) : 1;
        key = `hidden (fan_in ${fanIn})`;
      } else key = param.rank >= 2 ? 'embedding and head' : 'gains';
      const group = groups.get(key) ?? { name: key, params: [], lrScale, weightDecay: param.rank >= 2 };
      group.params.push(param);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}
