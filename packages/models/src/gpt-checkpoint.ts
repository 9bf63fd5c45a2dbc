/**
 * GPT ⇄ checkpoint folder. model.safetensors holds what serving needs: each FP8 Linear's weight as
 * F8_E4M3 codes (quantized with the recipe's weight scale, so a served forward sees exactly the
 * bytes training's forward saw) with its `weight_scale_inv` (F32); under an FP8 or bf16 recipe the
 * other matrices (embedding, head) in BF16, as TransformerEngine-style deployments keep them;
 * norm gains, and everything of an f32 model, in F32.
 * training_state.* holds the f32 master weights, optimizer moments and data position for exact resume.
 */
import { bf16, check, fp8, keep, op, type Tensor, tidy } from '@octet/core';
import { loadCheckpoint, type RawTensor, rawTensorFloat32, rawTensorFrom, rawTensorValues, saveCheckpoint } from './checkpoint/index.js';
import { Gpt, type GptConfig } from './gpt.js';

/** What a trainer saves beside the model to resume exactly. */
export interface GptTrainingExtras {
  tokenizer?: object;
  optimizer?: { stateDict(): { step: number; tensors: Record<string, Tensor> } };
  data?: unknown;
  /** Any further JSON (e.g. the resolved run config, the step). */
  json?: Record<string, unknown>;
}

const F8_DTYPE = { e4m3fn: 'F8_E4M3', e5m2: 'F8_E5M2' } as const;

async function rawF32(tensor: Tensor): Promise<RawTensor> {
  return rawTensorFrom('F32', [...tensor.shape], (await tensor.data()) as Float32Array);
}

/**
 * The tensors of model.safetensors for `model`, as a server reads them: FP8 codes with
 * `weight_scale_inv` for FP8 Linears, BF16 for the other matrices unless the model is f32, F32
 * else; with `withMasters` also the f32 master (`master.<name>`) of every weight they do not hold
 * in F32, each weight read from the backend once.
 */
async function servingTensorsAndMasters(
  model: Gpt,
  withMasters: boolean,
): Promise<{ tensors: Record<string, RawTensor>; masters: Record<string, RawTensor> }> {
  const tensors: Record<string, RawTensor> = {};
  const masters: Record<string, RawTensor> = {};
  const fp8Linears = new Map(
    model
      .hiddenLinears()
      .filter(([, l]) => l.scaling !== null)
      .map(([, l]) => [l.weight as Tensor, l]),
  );
  const format = model.recipe.forwardFormat;
  const matricesInBf16 = model.recipe.precision !== 'f32';
  for (const [name, variable] of model.namedVariables()) {
    const linear = fp8Linears.get(variable);
    if (!linear) {
      const values = (await variable.data()) as Float32Array;
      if (matricesInBf16 && variable.rank === 2) {
        tensors[name] = rawTensorFrom('BF16', [...variable.shape], bf16.encode(values));
        if (withMasters) masters[`master.${name}`] = rawTensorFrom('F32', [...variable.shape], values);
      } else tensors[name] = rawTensorFrom('F32', [...variable.shape], values);
      continue;
    }
    if (withMasters) masters[`master.${name}`] = await rawF32(variable);
    check(format === 'e4m3fn' || format === 'e5m2', 'checkpoint weight format', format, 'e4m3fn or e5m2 (the safetensors FP8 dtypes)');
    const [codes, scale] = tidy(() => {
      const s = linear.scaling!.weight.scaleFor(variable, false);
      return [keep(op.quantizeTensor(variable, s, format)), keep(s)];
    });
    tensors[name] = rawTensorFrom(F8_DTYPE[format], [...variable.shape], (await codes.data()) as Uint8Array);
    const scaleValue = ((await scale.data()) as Float32Array)[0]!;
    tensors[name.replace(/weight$/, 'weight_scale_inv')] = rawTensorFrom('F32', [], new Float32Array([1 / scaleValue]));
    codes.dispose();
    scale.dispose();
  }
  return { tensors, masters };
}

/** Writes the model (and, when given, the training state) to `directory` atomically. Returns the directory. */
export async function saveGptCheckpoint(directory: string, model: Gpt, extras: GptTrainingExtras = {}): Promise<string> {
  // Every weight model.safetensors does not hold in F32 keeps its f32 master for training.
  const { tensors, masters } = await servingTensorsAndMasters(model, true);
  const trainingTensors: Record<string, RawTensor> = { ...masters };
  let optimizerStep: number | undefined;
  if (extras.optimizer) {
    const state = extras.optimizer.stateDict();
    optimizerStep = state.step;
    for (const [name, t] of Object.entries(state.tensors)) trainingTensors[`optimizer.${name}`] = await rawF32(t);
  }
  await saveCheckpoint(directory, {
    tensors,
    metadata: { format: 'octet-gpt', recipe: model.recipe.name },
    config: { model_type: 'octet-gpt', ...model.config },
    tokenizer: extras.tokenizer,
    trainingState: { tensors: trainingTensors, json: { optimizerStep, data: extras.data, ...extras.json } },
  });
  return directory;
}

export interface LoadedGpt {
  model: Gpt;
  tokenizer?: object;
  /** Optimizer moments by name (without the `optimizer.` prefix) and step, when the checkpoint has them. */
  optimizer?: { step: number; tensors: Record<string, Tensor> };
  trainingJson?: Record<string, unknown>;
}

/**
 * Loads a GPT checkpoint, verified (checksums, every tensor present with the model's shape).
 * With training state, weights come from the f32 masters; otherwise FP8 weights are decoded
 * and multiplied by their `weight_scale_inv`.
 */
export async function loadGptCheckpoint(
  directory: string,
  {
    expectConfig,
    weights = 'master',
    memory = {},
  }: {
    expectConfig?: Partial<GptConfig>;
    /** 'master': f32 master weights when the checkpoint has them (training); 'serving': model.safetensors only, as a server loads it. */
    weights?: 'master' | 'serving';
    /**
     * What backward keeps, over the checkpoint's config (a field left undefined keeps the
     * checkpoint's): these change no weight, so a resumed run may choose them anew.
     */
    memory?: Pick<GptConfig, 'activations' | 'recompute'>;
  } = {},
): Promise<LoadedGpt> {
  const checkpoint = await loadCheckpoint(directory);
  const config = checkpoint.config as GptConfig & { model_type?: string };
  check(config.model_type === 'octet-gpt', `${directory}/config.json model_type`, config.model_type, '"octet-gpt"');
  for (const [key, value] of Object.entries(expectConfig ?? {})) {
    check(
      (config as unknown as Record<string, unknown>)[key] === value,
      `checkpoint config.${key}`,
      (config as unknown as Record<string, unknown>)[key],
      `${JSON.stringify(value)} (the model being loaded into)`,
    );
  }
  const { model_type: _, ...gptConfig } = config;
  const memoryOverrides = Object.fromEntries(Object.entries(memory).filter(([, value]) => value !== undefined));
  const model = new Gpt({ ...(gptConfig as GptConfig), ...memoryOverrides });
  const training = checkpoint.trainingState?.tensors ?? {};
  const masters = weights === 'master' ? training : {};
  const expected = new Set(model.namedVariables().map(([name]) => name));
  for (const name of Object.keys(checkpoint.tensors)) {
    check(
      expected.has(name) || (name.endsWith('weight_scale_inv') && expected.has(name.replace(/weight_scale_inv$/, 'weight'))),
      `${directory}/model.safetensors tensor`,
      name,
      'only tensors of this model config',
    );
  }
  for (const [name, variable] of model.namedVariables()) {
    const stored = checkpoint.tensors[name];
    check(stored !== undefined, `${directory}/model.safetensors`, `no tensor ${name}`, `every tensor of the model (${expected.size})`);
    check(
      stored.shape.length === variable.shape.length && stored.shape.every((d, i) => d === variable.shape[i]),
      `${directory}/model.safetensors tensor ${name} shape`,
      stored.shape,
      `[${variable.shape.join(', ')}]`,
    );
    const master = masters[`master.${name}`];
    let values: Float32Array;
    if (master) values = rawTensorFloat32(master);
    else if (stored.dtype === 'F32') values = rawTensorFloat32(stored);
    else if (stored.dtype === 'BF16') values = bf16.decode(rawTensorValues(stored) as Uint16Array);
    else {
      const format = stored.dtype === 'F8_E4M3' ? 'e4m3fn' : stored.dtype === 'F8_E5M2' ? 'e5m2' : null;
      check(format !== null, `${directory}/model.safetensors tensor ${name} dtype`, stored.dtype, 'F32, BF16, F8_E4M3 or F8_E5M2');
      const scaleInv = checkpoint.tensors[name.replace(/weight$/, 'weight_scale_inv')];
      check(scaleInv !== undefined, `${directory}/model.safetensors`, `no ${name}_scale_inv`, 'a weight_scale_inv beside every FP8 weight');
      values = fp8.decode(rawTensorValues(stored) as Uint8Array, format);
      const factor = rawTensorFloat32(scaleInv)[0]!;
      for (let i = 0; i < values.length; i++) values[i]! *= factor;
    }
    tidy(() => variable.assign(op.tensor(Float32Array.from(values), variable.shape)));
  }
  let optimizer: LoadedGpt['optimizer'];
  const json = (checkpoint.trainingState?.json ?? {}) as Record<string, unknown>;
  const optimizerNames = Object.keys(training).filter((n) => n.startsWith('optimizer.'));
  if (optimizerNames.length > 0) {
    const tensors: Record<string, Tensor> = {};
    for (const name of optimizerNames) {
      const raw = training[name]!;
      tensors[name.slice('optimizer.'.length)] = keep(op.tensor(Float32Array.from(rawTensorFloat32(raw)), raw.shape));
    }
    optimizer = { step: Number(json.optimizerStep ?? 0), tensors };
  }
  return { model, tokenizer: checkpoint.tokenizer, optimizer, trainingJson: json };
}
