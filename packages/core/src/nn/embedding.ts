import { check } from '../errors.js';
import * as op from '../ops/ops.js';
import type { Tensor, Variable } from '../tensor.js';
import { Module } from './module.js';

/** Token embedding: int32 ids (...) → (..., dim), weight (vocab, dim) in f32. */
export class Embedding extends Module {
  readonly weight: Variable;

  constructor(
    readonly vocabSize: number,
    readonly dim: number,
    { initStd, seed }: { initStd: number; seed: number },
  ) {
    super();
    this.weight = this.addVariable('weight', op.randomNormal([vocabSize, dim], { std: initStd, seed }));
  }

  apply(ids: Tensor): Tensor {
    check(ids.dtype === 'int32', 'Embedding input dtype', ids.dtype, 'int32 token ids');
    return op.gather(this.weight, ids); // saves only the ids for backward
  }
}
