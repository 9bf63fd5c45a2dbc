/**
 * Training tokens/s of the default GPT ('small', AdamW, clip 1) on a backend, the loop every
 * training suite times: `warmupSteps` untimed steps, then `steps` timed ones.
 */
import { type Backend, op, setBackend, tidy, valueAndGrads } from '@octet/core';
import { ByteTokenizer, Gpt, gptConfig, loadBrown, packTokenIds, TokenDataset } from '@octet/models';
import { AdamW, clipByGlobalNorm } from '@octet/optim';

export interface TrainThroughputOptions {
  recipe: string;
  steps: number;
  warmupSteps: number;
  batch: number;
}

/** The first 2 MB of Brown's training split as byte tokens. */
export function brownTrainingTokens(): Uint16Array | Int32Array {
  return packTokenIds(new ByteTokenizer().encode(loadBrown().train.slice(0, 2_000_000)), 256);
}

export async function octetTrainTokensPerSecond(
  backend: Backend,
  tokens: Uint16Array | Int32Array,
  { recipe, steps, warmupSteps, batch }: TrainThroughputOptions,
): Promise<number> {
  setBackend(backend);
  const model = new Gpt(gptConfig('small', { recipe }));
  const optimizer = new AdamW(model.parameterGroups(), { lr: recipe === 'unitScaling' ? 0.5 : 3e-3 });
  const data = new TokenDataset(tokens, { batchSize: batch, contextLength: model.config.contextLength, seed: 0 });
  let start = 0;
  for (let step = 0; step < warmupSteps + steps; step++) {
    if (step === warmupSteps) start = performance.now();
    const next = data.nextBatch();
    const shape = [next.batchSize, next.contextLength];
    const loss = tidy(() => {
      const { value, grads } = valueAndGrads(
        () => model.loss(op.tensor(next.inputs, shape), op.tensor(next.targets, shape)),
        optimizer.params(),
      );
      optimizer.applyGradients(clipByGlobalNorm(grads, 1).grads);
      return value;
    });
    await loss.data();
    loss.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  optimizer.dispose();
  return (steps * batch * model.config.contextLength) / seconds;
}
