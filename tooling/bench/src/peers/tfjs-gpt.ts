// The CPU training peer: octet's default GPT written with TensorFlow.js in f32, trained on
// tfjs's `wasm` (or `cpu`) backend, so the bench can divide octet's tokens/s by a number
// measured in the same process on the same machine.
//
// Run alone, from tooling/bench: node --import tsx src/peers/tfjs-gpt.ts [wasm|cpu] [steps]
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
// The full `@tensorflow/tfjs` bundle (not tfjs-core alone) registers the gradients and the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

// Must match octet's default GPT in shape and FLOPs.
export const TFJS_GPT_CONFIG = {
  vocab: 256, // byte-level tokens
  context: 128, // T
  nLayer: 4,
  dModel: 128, // C
  nHead: 4, // head dim C / nHead = 32
  mlpHidden: 512, // 4 · C
  normEps: 1e-5, // RMSNorm
  ropeBase: 10000,
  initStd: 0.02,
  batch: 8, // B
  // AdamW; decay touches 2-D weights only, never the norm gains.
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.95,
  adamEps: 1e-8,
  weightDecay: 0.1,
} as const;

const cfg = TFJS_GPT_CONFIG;
const headDim = cfg.dModel / cfg.nHead;

export interface TfjsGptOptions {
  engine: 'wasm' | 'cpu';
  steps: number;
  warmupSteps?: number;
  batch?: number;
  seed?: number;
  tokens: Uint8Array | Int32Array;
}

export interface TfjsGptResult {
  engine: string;
  tokensPerSecond: number;
  losses: number[];
  params: number;
}

/** Parameters of the model above: 4·(4·C² + 2·C·4C) + 2·V·C + (2·nLayer + 1)·C = 853,120. */
export function countTfjsGptParams(): number {
  const { vocab: V, dModel: C, nLayer: L, mlpHidden: H } = cfg;
  return L * (4 * C * C + 2 * C * H) + 2 * V * C + (2 * L + 1) * C;
}

interface Layer {
  norm1: tf.Variable; // (C) RMSNorm gain
  wqkv: tf.Variable; // (C, 3C) q, k, v projections side by side
  wo: tf.Variable; // (C, C)
  norm2: tf.Variable; // (C)
  w1: tf.Variable; // (C, 4C)
  w2: tf.Variable; // (4C, C)
}

interface Model {
  wte: tf.Variable; // (V, C) token embedding
  layers: Layer[];
  normF: tf.Variable; // (C)
  lmHead: tf.Variable; // (C, V) untied from wte
  all: tf.Variable[];
}

// tf.variable keeps its initial tensor alive as a second handle; tidy drops that handle.
function variableFrom(init: () => tf.Tensor, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(init(), trainable));
}

function createModel(seed: number): Model {
  const { vocab: V, dModel: C, mlpHidden: H, initStd } = cfg;
  const all: tf.Variable[] = [];
  // tfjs treats a seed of 0 as "unseeded", so per-tensor seeds start above it.
  let nextSeed = seed * 1000 + 1;
  // Unnamed variables get unique names, so several runs can share one process.
  const normal = (shape: [number, number], std: number) => {
    const v = variableFrom(() => tf.randomNormal(shape, 0, std, 'float32', nextSeed++));
    all.push(v);
    return v;
  };
  const ones = () => {
    const v = variableFrom(() => tf.ones([C]));
    all.push(v);
    return v;
  };
  // Residual-branch outputs start smaller so the residual stream's variance does not grow with depth.
  const residualStd = initStd / Math.sqrt(2 * cfg.nLayer);
  const wte = normal([V, C], initStd);
  const layers: Layer[] = [];
  for (let l = 0; l < cfg.nLayer; l++) {
    layers.push({
      norm1: ones(),
      wqkv: normal([C, 3 * C], initStd),
      wo: normal([C, C], residualStd),
      norm2: ones(),
      w1: normal([C, H], initStd),
      w2: normal([H, C], residualStd),
    });
  }
  const normF = ones();
  const lmHead = normal([C, V], initStd);
  return { wte, layers, normF, lmHead, all };
}

/** Constants the forward pass reuses every step. */
interface Tables {
  cos: tf.Tensor2D; // (T, hd)
  sin: tf.Tensor2D; // (T, hd)
  mask: tf.Tensor2D; // (T, T) 0 on and below the diagonal, -1e9 above
}

function createTables(): Tables {
  const T = cfg.context;
  const half = headDim / 2;
  const cos = new Float32Array(T * headDim);
  const sin = new Float32Array(T * headDim);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * cfg.ropeBase ** ((-2 * i) / headDim);
      // Rotate-half layout: frequency i drives both element i and element i + hd/2.
      cos[t * headDim + i] = cos[t * headDim + i + half] = Math.cos(angle);
      sin[t * headDim + i] = sin[t * headDim + i + half] = Math.sin(angle);
    }
  }
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  return {
    cos: tf.tensor2d(cos, [T, headDim]),
    sin: tf.tensor2d(sin, [T, headDim]),
    mask: tf.tensor2d(mask, [T, T]),
  };
}

// x / sqrt(mean(x²) + eps) · g over the last axis.
function rmsNorm(x: tf.Tensor, gain: tf.Tensor): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, cfg.normEps))), gain);
}

// tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). tfjs has no gelu op.
function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

// x·cos + rotate_half(x)·sin, where rotate_half([x1, x2]) = [-x2, x1] on the head dimension.
function rope(x: tf.Tensor, tables: Tables): tf.Tensor {
  const [x1, x2] = tf.split(x, 2, -1); // (B, nh, T, hd/2) each
  const rotated = tf.concat([tf.neg(x2!), x1!], -1);
  return tf.add(tf.mul(x, tables.cos), tf.mul(rotated, tables.sin));
}

function attention(x: tf.Tensor, layer: Layer, B: number, tables: Tables): tf.Tensor {
  const { context: T, dModel: C, nHead: nh } = cfg;
  const qkv = tf.matMul(x, layer.wqkv); // (B·T, 3C)
  // (B·T, C) -> (B, nh, T, hd)
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, nh, headDim]), [0, 2, 1, 3]);
  const [q, k, v] = tf.split(qkv, 3, -1).map(heads);
  // Batched matmuls want rank 3: fold heads into the batch.
  const q3 = tf.reshape(rope(q!, tables), [B * nh, T, headDim]);
  const k3 = tf.reshape(rope(k!, tables), [B * nh, T, headDim]);
  const v3 = tf.reshape(v!, [B * nh, T, headDim]);
  const scores = tf.add(tf.mul(tf.matMul(q3, k3, false, true), 1 / Math.sqrt(headDim)), tables.mask); // (B·nh, T, T)
  const y = tf.matMul(tf.softmax(scores, -1), v3); // (B·nh, T, hd)
  const merged = tf.reshape(tf.transpose(tf.reshape(y, [B, nh, T, headDim]), [0, 2, 1, 3]), [B * T, C]);
  return tf.matMul(merged, layer.wo); // (B·T, C)
}

// (B, T) int32 -> (B·T, V) f32. wasm's OneHot writes int32 bits whatever dtype is asked for, so cast afterwards.
function oneHotF32(indices: tf.Tensor2D, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(tf.reshape(indices, [-1]), depth), 'float32');
}

// Mean cross-entropy over B·T next-byte predictions. Activations stay (B·T, C) so every Linear is one 2-D matmul.
function loss(model: Model, tables: Tables, inputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  const { vocab: V } = cfg;
  const B = inputs.shape[0];
  // wasm has no UnsortedSegmentSum, the gradient of gather, so the embedding is a one-hot matmul.
  let x = tf.matMul(oneHotF32(inputs, V), model.wte); // (B·T, C)
  for (const layer of model.layers) {
    x = tf.add(x, attention(rmsNorm(x, layer.norm1), layer, B, tables));
    x = tf.add(x, tf.matMul(gelu(tf.matMul(rmsNorm(x, layer.norm2), layer.w1)), layer.w2));
  }
  const logits = tf.matMul(rmsNorm(x, model.normF), model.lmHead); // (B·T, V)
  const logProbs = tf.logSoftmax(logits); // (B·T, V)
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHotF32(targets, V), logProbs), -1))) as tf.Scalar;
}

/** AdamW with decoupled weight decay, as torch.optim.AdamW. */
class AdamW {
  private step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(private readonly params: tf.Variable[]) {
    this.m = params.map((p) => variableFrom(() => tf.zerosLike(p), false));
    this.v = params.map((p) => variableFrom(() => tf.zerosLike(p), false));
  }

  /** Call inside tf.tidy; grads are keyed by variable name, as tf.variableGrads returns them. */
  apply(grads: Record<string, tf.Tensor>): void {
    const { lr, beta1, beta2, adamEps, weightDecay } = cfg;
    this.step++;
    const bias1 = 1 - beta1 ** this.step;
    const bias2 = 1 - beta2 ** this.step;
    this.params.forEach((p, i) => {
      const g = grads[p.name]!;
      const m = this.m[i]!;
      const v = this.v[i]!;
      m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      const update = tf.div(tf.div(m, bias1), tf.add(tf.sqrt(tf.div(v, bias2)), adamEps));
      const decayed = p.rank === 2 ? tf.mul(p, 1 - lr * weightDecay) : p;
      p.assign(tf.sub(decayed, tf.mul(update, lr)));
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

// mulberry32: a small seeded PRNG, so batch windows repeat across runs and engines.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// B random windows of T + 1 tokens: inputs are the first T, targets the last T.
function sampleBatch(tokens: Uint8Array | Int32Array, B: number, random: () => number) {
  const T = cfg.context;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(random() * (tokens.length - T));
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = tokens[start + t]!;
      targets[b * T + t] = tokens[start + t + 1]!;
    }
  }
  return { inputs, targets };
}

async function useEngine(engine: 'wasm' | 'cpu'): Promise<void> {
  if (engine === 'wasm') {
    // Point the wasm backend at its own dist folder, which holds the .wasm binaries.
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  }
  // Prod mode drops tfjs's per-op debug checks, as a tuned deployment would.
  tf.enableProdMode();
  if (!(await tf.setBackend(engine))) throw new Error(`tfjs backend ${engine} failed to initialise`);
  await tf.ready();
}

/** Trains the tfjs GPT for warmupSteps untimed steps, then `steps` timed steps, reading the loss back each step. */
export async function trainTfjsGpt(options: TfjsGptOptions): Promise<TfjsGptResult> {
  const { engine, steps, warmupSteps = 2, batch: B = cfg.batch, seed = 0, tokens } = options;
  const T = cfg.context;
  if (tokens.length < T + 1) throw new Error(`tfjs GPT needs at least ${T + 1} tokens, got ${tokens.length}`);
  await useEngine(engine);

  const model = createModel(seed);
  const tables = createTables();
  const optimizer = new AdamW(model.all);
  const random = mulberry32(seed);

  const trainStep = async (): Promise<number> => {
    const { inputs, targets } = sampleBatch(tokens, B, random);
    const lossTensor = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [B, T], 'int32');
      const y = tf.tensor2d(targets, [B, T], 'int32');
      const { value, grads } = tf.variableGrads(() => loss(model, tables, x, y), model.all);
      optimizer.apply(grads);
      return value;
    });
    // Reading the loss waits for the step's work to finish.
    const value = (await lossTensor.data())[0]!;
    lossTensor.dispose();
    return value;
  };

  try {
    for (let i = 0; i < warmupSteps; i++) await trainStep();
    const losses: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const start = performance.now();
    for (let i = 0; i < steps; i++) losses.push(await trainStep());
    const seconds = (performance.now() - start) / 1000;
    // A leak would slow the peer down step by step and skew the comparison.
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) throw new Error(`tfjs GPT leaked ${leaked} tensors over ${steps} steps on ${engine}`);
    return {
      engine: `tfjs-${engine}`,
      tokensPerSecond: (B * T * steps) / seconds,
      losses,
      params: model.all.reduce((sum, v) => sum + v.size, 0),
    };
  } finally {
    optimizer.dispose();
    for (const t of [...model.all, tables.cos, tables.sin, tables.mask]) t.dispose();
  }
}

// A paragraph of English for running this file alone; repeated 20 times it gives about 10 KB of bytes.
const SAMPLE_TEXT =
  'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of ' +
  'foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, ' +
  'it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had ' +
  'everything before us, we had nothing before us, we were all going direct to Heaven, we were all going ' +
  'direct the other way. ';

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const engine = process.argv[2] === 'cpu' ? 'cpu' : 'wasm';
  const steps = Number(process.argv[3] ?? 10);
  const tokens = new TextEncoder().encode(SAMPLE_TEXT.repeat(20));
  const result = await trainTfjsGpt({ engine, steps, tokens });
  const first = result.losses[0]?.toFixed(3);
  const last = result.losses.at(-1)?.toFixed(3);
  console.log(
    `${result.engine}: ${result.tokensPerSecond.toFixed(1)} tokens/s over ${steps} steps, ` +
      `loss ${first} -> ${last}, ${result.params} params`,
  );
}
