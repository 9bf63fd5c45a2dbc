import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpuBackend } from '@octet/backend-cpu';
import { createOnnxGenerator, exportToOnnx } from '@octet/backend-onnx';
import { op, setBackend, type Tensor, tidy, valueAndGrads } from '@octet/core';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpt, gptConfig } from '../src/gpt.js';
import { loadGptCheckpoint, saveGptCheckpoint } from '../src/gpt-checkpoint.js';

const { onnx } = onnxProto;
const root = mkdtempSync(join(tmpdir(), 'octet-onnx-'));
beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TEXT = new TextEncoder().encode('the quick brown fox jumps over the lazy dog. a stitch in time saves nine. '.repeat(4));

/** Two rows of English bytes, (2, T) int32. */
function rows(T: number, from = 0): number[][] {
  return [0, 1].map((b) => Array.from(TEXT.subarray(from + b * 11, from + b * 11 + T)));
}

/** A few plain SGD steps on English bytes, so the weights are no longer the initial ones. */
function train(model: Gpt, steps: number, lr: number): void {
  const T = 16;
  const inputs = op.tensor(Int32Array.from(rows(T).flat()), [2, T]);
  const targets = op.tensor(Int32Array.from(rows(T, 1).flat()), [2, T]);
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const { grads } = valueAndGrads(() => model.loss(inputs, targets), model.parameters());
      model.parameters().forEach((p, i) => {
        p.assign(op.sub(p, op.mulScalar(grads[i]!, lr)));
      });
    });
  }
  inputs.dispose();
  targets.dispose();
}

/** A tiny checkpoint after a few training steps, and the served model loaded back from it. */
async function trainedCheckpoint(recipe: string, lr: number, folder = recipe): Promise<{ dir: string; served: Gpt }> {
  const model = new Gpt(gptConfig('tiny', { recipe }));
  train(model, 4, lr);
  const dir = await saveGptCheckpoint(join(root, folder), model);
  model.dispose();
  const { model: served } = await loadGptCheckpoint(dir, { weights: 'serving' });
  served.setTraining(false);
  return { dir, served };
}

async function cpuLogits(model: Gpt, ids: number[][]): Promise<Float32Array> {
  const logits: Tensor = tidy(() => model.forward(op.tensor(Int32Array.from(ids.flat()), [ids.length, ids[0]!.length])));
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  return values;
}

function maxAbs(values: Float32Array): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('exportToOnnx of a Gpt', () => {
  // Both run the same FP8 operands; what differs is f32 summation order and transcendental
  // functions, so logits agree to 1e-4 of their largest magnitude.
  const RELATIVE_TOLERANCE = 1e-4;

  for (const [recipe, lr] of [
    ['unitScaling', 0.05],
    ['delayed', 0.5],
    ['current', 0.5],
    ['f32', 0.5],
  ] as const) {
    it(`gives backend-cpu's logits on a trained tiny ${recipe} checkpoint (within ${RELATIVE_TOLERANCE} of max |logit|)`, async () => {
      const { served } = await trainedCheckpoint(recipe, lr);
      const ids = rows(20);
      const expected = await cpuLogits(served, ids);
      const session = await ort.InferenceSession.create(await exportToOnnx(served, { kvCache: false }));
      const input = new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [2, 20]);
      const actual = (await session.run({ input_ids: input })).logits!.data as Float32Array;
      expect(maxAbs(expected)).toBeGreaterThan(1);
      expect(maxAbsDifference(actual, expected)).toBeLessThan(RELATIVE_TOLERANCE * maxAbs(expected));
      await session.release();
      served.dispose();
    });
  }

  it('stores each FP8 hidden weight as a FLOAT8E4M3FN initializer feeding DequantizeLinear with its weight_scale_inv', async () => {
    const model = new Gpt(gptConfig('tiny', { recipe: 'unitScaling' }));
    const bytes = await exportToOnnx(model);
    const decoded = onnx.ModelProto.decode(bytes);
    expect(Number(decoded.opsetImport[0]!.version)).toBeGreaterThanOrEqual(19);
    const graph = decoded.graph as InstanceType<typeof onnx.GraphProto>;
    const fp8 = (graph.initializer as InstanceType<typeof onnx.TensorProto>[]).filter((t) => t.dataType === 17); // FLOAT8E4M3FN
    expect(fp8.map((t) => t.name).sort()).toEqual(
      model
        .hiddenLinears()
        .map(([path]) => `${path}.weight.T`)
        .sort(),
    );
    for (const t of fp8) {
      expect(t.rawData.length).toBe(t.dims.reduce((a: number, b) => a * Number(b), 1)); // one byte per weight
      const consumer = graph.node.find((n) => n.input?.[0] === t.name);
      expect(consumer?.opType).toBe('DequantizeLinear');
      expect(consumer?.input?.[1]).toBe(t.name.replace(/weight\.T$/, 'weight_scale_inv'));
    }
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(expect.arrayContaining(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.1.value']));
    expect(session.outputNames).toEqual(expect.arrayContaining(['logits', 'present.0.key', 'present.1.value']));
    await session.release();
    model.dispose();
  });

  // The small preset has 786,432 hidden weights (1 byte each in FP8, 4 in f32) and 65,536 embedding
  // and head weights (2 bytes each in BF16, 4 in f32): (786,432 + 131,072) / (3,145,728 + 262,144)
  // = 0.269 before the graph's own bytes.
  it('makes a small-preset export at most 30% of the size of the same model exported under the f32 recipe', async () => {
    const model = new Gpt(gptConfig('small', { recipe: 'unitScaling' }));
    const f32Model = new Gpt(gptConfig('small', { recipe: 'f32' }));
    const fp8 = (await exportToOnnx(model)).byteLength;
    const f32 = (await exportToOnnx(f32Model)).byteLength;
    console.log(`small preset: fp8 export ${fp8} bytes, f32 export ${f32} bytes, ratio ${(fp8 / f32).toFixed(4)}`);
    expect(fp8 / f32).toBeLessThanOrEqual(0.3);
    model.dispose();
    f32Model.dispose();
  });
});

describe('OnnxGptGenerator', () => {
  it('decodes with the KV cache to the logits of a full forward, for sequences of different lengths batched together', async () => {
    const { served } = await trainedCheckpoint('unitScaling', 0.05, 'kv-cache');
    const generator = await createOnnxGenerator(served, { threads: 1 });
    const [a, b] = rows(24);
    const full = await generator.prefill(a!); // (24, V) in one run
    // Sequence a: prefill 8 tokens, then decode; sequence b: prefill 12, decode alongside a.
    let stepA = await generator.prefill(a!.slice(0, 8));
    let stepB = await generator.prefill(b!.slice(0, 12));
    const V = generator.config.vocabSize;
    for (let t = 8; t < 20; t++) {
      const [nextA, nextB] = await generator.decode([
        { token: a![t]!, cache: stepA.cache },
        { token: b![t + 4]!, cache: stepB.cache },
      ]);
      const fromFull = full.logits.subarray(t * V, (t + 1) * V);
      expect(maxAbsDifference(nextA!.logits, fromFull)).toBeLessThan(1e-4 * maxAbs(fromFull));
      [stepA, stepB] = [nextA!, nextB!];
    }
    expect(stepA.cache.length).toBe(20);
    expect(stepB.cache.length).toBe(24);
    // b's last step matches backend-cpu's full forward of b.
    const expected = (await cpuLogits(served, [b!])).subarray(23 * V, 24 * V);
    expect(maxAbsDifference(stepB.logits, expected)).toBeLessThan(1e-4 * maxAbs(expected));
    await generator.release();
    served.dispose();
  });

  it('gives the same logits with the weights dequantized once at load (the default) as with them dequantized every run', async () => {
    const { served } = await trainedCheckpoint('unitScaling', 0.05, 'kv-cache');
    const [a] = rows(12);
    const logits = async (foldWeights: boolean) => {
      const generator = await createOnnxGenerator(served, { threads: 1, foldWeights });
      const { logits, cache } = await generator.prefill(a!.slice(0, 8));
      const [next] = await generator.decode([{ token: a![8]!, cache }]);
      await generator.release();
      return [logits, next!.logits];
    };
    expect(await logits(true)).toEqual(await logits(false));
    await expect(createOnnxGenerator(served, { foldWeights: 'yes' as never })).rejects.toThrow(
      /foldWeights: got .*yes.*; allowed: true or false/,
    );
    served.dispose();
  });

  it('steps prompts of different lengths beside decoding sequences, each to its full-forward logits', async () => {
    const { served } = await trainedCheckpoint('unitScaling', 0.05, 'kv-cache');
    const generator = await createOnnxGenerator(served, { threads: 1 });
    const V = generator.config.vocabSize;
    const [a, b] = rows(20);
    const c = rows(20, 25)[1];
    const full = await Promise.all([a!, b!, c!].map(async (ids) => (await generator.prefill(ids)).logits));
    const row = (logits: Float32Array, t: number) => logits.subarray(t * V, (t + 1) * V);
    // a and b: prompts of 5 and 9 tokens in one step; then a and b decode while c's 7-token prompt joins.
    const [stepA, stepB] = await generator.step([{ tokens: a!.slice(0, 5) }, { tokens: b!.slice(0, 9) }]);
    expect(maxAbsDifference(stepA!.logits, row(full[0]!, 4))).toBeLessThan(1e-4 * maxAbs(row(full[0]!, 4)));
    expect(maxAbsDifference(stepB!.logits, row(full[1]!, 8))).toBeLessThan(1e-4 * maxAbs(row(full[1]!, 8)));
    const [nextA, nextB, stepC] = await generator.step([
      { tokens: [a![5]!], cache: stepA!.cache },
      { tokens: b!.slice(9, 12), cache: stepB!.cache },
      { tokens: c!.slice(0, 7) },
    ]);
    for (const [result, logits, t, length] of [
      [nextA!, full[0]!, 5, 6],
      [nextB!, full[1]!, 11, 12],
      [stepC!, full[2]!, 6, 7],
    ] as const) {
      expect(result.logits.length).toBe(V);
      expect(maxAbsDifference(result.logits, row(logits, t))).toBeLessThan(1e-4 * maxAbs(row(logits, t)));
      expect(result.cache.length).toBe(length);
    }
    await generator.release();
    served.dispose();
  });
});
