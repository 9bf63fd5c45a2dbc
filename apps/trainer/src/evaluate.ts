/** Validation loss, the unigram baseline, and where a diverged run's non-finite values begin. */
import { dispose, keep, op, type Tensor, tidy } from '@octet/core';
import type { Gpt, TokenBatch } from '@octet/models';

/** A batch as the model takes it: (B, T) int32 inputs and targets. */
export function batchTensors(batch: TokenBatch): [Tensor, Tensor] {
  const shape = [batch.batchSize, batch.contextLength];
  return [op.tensor(batch.inputs, shape), op.tensor(batch.targets, shape)];
}

/** The first batches holding `windows` windows in all. */
export function takeWindows(batches: TokenBatch[], windows: number): TokenBatch[] {
  const out: TokenBatch[] = [];
  let taken = 0;
  for (const batch of batches) {
    if (taken >= windows) break;
    out.push(batch);
    taken += batch.batchSize;
  }
  return out;
}

/** Mean loss over the validation windows (delayed scaling records no amaxes while evaluating). */
export async function evaluate(model: Gpt, batches: TokenBatch[]): Promise<number> {
  model.setTraining(false);
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    const loss = tidy(() => model.loss(...batchTensors(batch)));
    total += ((await loss.data()) as Float32Array)[0]! * batch.batchSize;
    count += batch.batchSize;
    loss.dispose();
  }
  model.setTraining(true);
  return total / count;
}

/** Cross-entropy (nats/token) of the validation tokens under the training split's unigram frequencies. */
export function unigramCrossEntropy(trainIds: ArrayLike<number>, valIds: ArrayLike<number>, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1); // add-one smoothing: unseen tokens stay finite
  for (let i = 0; i < trainIds.length; i++) counts[trainIds[i]!]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  let nats = 0;
  for (let i = 0; i < valIds.length; i++) nats -= Math.log(counts[valIds[i]!]! / total);
  return nats / valIds.length;
}

/** Where non-finite values start: the first parameter holding one, else the first layer whose output does. */
export async function firstNonFinite(model: Gpt, batch: TokenBatch): Promise<string> {
  const finite = async (t: Tensor) => ((await t.data()) as Float32Array).every(Number.isFinite);
  for (const [name, param] of model.namedParameters()) {
    if (!(await finite(param))) return `first non-finite parameter: ${name}`;
  }
  const activations: [string, Tensor][] = [];
  tidy(() => model.forward(batchTensors(batch)[0], (name, t) => activations.push([name, keep(t)])));
  let found = 'every activation is finite (the loss itself overflowed)';
  for (const [name, t] of activations) {
    if (!(await finite(t))) {
      found = `non-finite values first appear in the output of ${name}`;
      break;
    }
  }
  dispose(activations.map(([, t]) => t));
  return found;
}
