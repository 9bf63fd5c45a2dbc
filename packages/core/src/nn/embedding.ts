import { check } from '../errors.js';
import * as op from '../ops/ops.js';
import type { Tensor, Variable } from '../tensor.js';
import type { GraphEmitter } from './graph.js';
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

  /** `apply` as graph nodes: ids (...) int64 → (..., dim); the table kept as `storage` says. */
  emit(g: GraphEmitter, ids: string, storage: 'f32' | 'bf16'): string {
    return g.node('Gather', [g.weight(this.weight.name, this.weight as Tensor, { storage }), ids], { axis: { int: 0 } });
  }
}
