/**
 * Causal attention's core, softmax(scale · q kᵀ) v, as one autograd op that keeps q, k and v (as
 * the recipe stores activations) and, unless told to, not the (B, H, T, T) probabilities: backward
 * recomputes them from q and k, as flash attention does. The forward's kernels are the same either
 * way, and in f32 the recomputed probabilities are the forward's bit for bit.
 *
 * Like flash attention it never holds every head's T × T scores at once: batch entries and heads
 * go through in chunks of at most `CHUNK_BYTES` of scores, each chunk's temporaries freed before
 * the next (every row of a chunk is computed exactly as in one batched call).
 */
import { ENGINE, tidy } from '../engine.js';
import * as op from '../ops/ops.js';
import type { ActivationStorage } from '../recipes/recipes.js';
import type { Tensor } from '../tensor.js';
import { saveActivation } from './activation-storage.js';

export interface CausalAttentionOptions {
  /** Multiplier on q kᵀ: 1/√d_head (standard) or 1/d_head (μP / μnit Scaling). */
  scale: number;
  /** How q, k, v (and saved probabilities) are kept for backward. */
  activations: ActivationStorage;
  /** Recompute the probabilities in backward (default) instead of saving them. */
  recomputeProbabilities: boolean;
}

/** Scores (and each temporary like them) held per chunk of (batch × head) rows. */
const CHUNK_BYTES = 256 * 1024;

/**
 * `fn` over chunks of the (B·H) rows of each (B, H, T, ·) operand, outputs concatenated back to
 * (B, H, ·, ·) in order. With one chunk, `fn` sees the operands as they are.
 */
function chunked(operands: Tensor[], rowBytes: number, fn: (...chunk: Tensor[]) => Tensor[]): Tensor[] {
  const [B, H] = operands[0]!.shape as [number, number];
  const rows = B * H;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  if (perChunk >= rows) return fn(...operands);
  const flat = operands.map((t) => op.reshape(t, [rows, t.shape[2]!, t.shape[3]!]));
  const parts: Tensor[][] = [];
  for (let start = 0; start < rows; start += perChunk) {
    const n = Math.min(perChunk, rows - start);
    parts.push(tidy(() => fn(...flat.map((t) => op.slice(t, [start, 0, 0], [n, t.shape[1]!, t.shape[2]!])))));
  }
  return parts[0]!.map((first, i) =>
    op.reshape(
      op.concat(
        parts.map((p) => p[i]!),
        0,
      ),
      [B, H, first.shape[1]!, first.shape[2]!],
    ),
  );
}

/** q, k, v (B, H, T, D) → (B, H, T, D); query t sees keys 0..t. */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, options: CausalAttentionOptions): Tensor {
  const { scale, activations, recomputeProbabilities } = options;
  const T = q.shape[2]!;
  const rowBytes = T * T * 4;
  const probabilitiesOf = (qs: Tensor, ks: Tensor) =>
    tidy(() => op.softmax(op.mulScalar(op.matMul(qs, ks, false, true), scale), { causal: true }));
  return ENGINE.customOp([q, k, v], (save, recording) => {
    const loadQ = saveActivation(q, activations, save, recording);
    const loadK = saveActivation(k, activations, save, recording);
    const loadV = saveActivation(v, activations, save, recording);
    let output: Tensor;
    let loadP: (() => Tensor) | null = null;
    if (recomputeProbabilities || !recording) {
      [output] = chunked([q, k, v], rowBytes, (qc, kc, vc) => [op.matMul(probabilitiesOf(qc!, kc!), vc!)]) as [Tensor];
    } else {
      const probabilities = probabilitiesOf(q, k); // (B, H, T, T), kept for backward
      loadP = saveActivation(probabilities, activations, save, recording);
      output = op.matMul(probabilities, v);
    }
    const backward = (dy: Tensor): Tensor[] => {
      const operands = [loadQ(), loadK(), loadV(), dy, ...(loadP ? [loadP()] : [])];
      return chunked(operands, rowBytes, (qs, ks, vs, dyc, saved) => {
        const p = saved ?? probabilitiesOf(qs!, ks!);
        const dv = op.matMul(p, dyc!, true, false);
        // Softmax's gradient, then the score scale: dS = scale · P ⊙ (dP − Σ dP ⊙ P).
        const ds = tidy(() => {
          const dp = op.matMul(dyc!, vs!, false, true);
          return op.mulScalar(op.mul(p, op.sub(dp, op.sum(op.mul(dp, p), -1, true))), scale);
        });
        return [op.matMul(ds, ks!), op.matMul(ds, qs!, true, false), dv];
      });
    };
    return { output, backward };
  });
}
