/**
 * GRASS's row selection: which r rows of a weight's gradient the optimizer keeps Adam moments for,
 * and the weight ρ_j each selected row is scaled by (Pᵀ has one ρ_j per selected row).
 * - 'top-norm': the r rows with the largest gradient norms, ρ = 1.
 * - 'norm2': r distinct rows sampled with probability q_j ∝ ‖g_j‖² (successively, without
 *   replacement), ρ_j = 1/√(r·q_j), which makes E[PᵀP] = I for sampling with replacement.
 * - 'uniform': r distinct rows uniformly, ρ = 1/√(r·(1/n)) = √(n/r).
 *
 * HOST-SIDE: runs on the host once every refresh, on the row norms (computed on the device) read
 * back (`readHost`: `dataSync()`, or fetched first by `applyGradientsAsync`); the per-step
 * gather/scatter of the selected rows are kernels.
 */
import type { Random } from '@octet/core';
import { topIndices, uniformIndices } from './adam-snsm-projection.js';

export type RowSelection = 'top-norm' | 'norm2' | 'uniform';

export function selectRows(
  squaredNorms: Float32Array,
  r: number,
  how: RowSelection,
  random: Random,
): { rows: Int32Array; weights: Float32Array } {
  const n = squaredNorms.length;
  if (how === 'top-norm') return { rows: topIndices(squaredNorms, r), weights: new Float32Array(r).fill(1) };
  if (how === 'uniform') return { rows: uniformIndices(n, r, random), weights: new Float32Array(r).fill(Math.sqrt(n / r)) };
  let total = 0;
  for (const x of squaredNorms) total += x;
  if (!(total > 0)) return { rows: uniformIndices(n, r, random), weights: new Float32Array(r).fill(Math.sqrt(n / r)) };
  const remaining = Float64Array.from(squaredNorms);
  let left = total;
  const chosen: number[] = [];
  for (let k = 0; k < r; k++) {
    let target = random.next() * left;
    let pick = -1;
    for (let j = 0; j < n; j++) {
      if (remaining[j]! <= 0) continue;
      pick = j;
      target -= remaining[j]!;
      if (target < 0) break;
    }
    if (pick < 0) {
      // Fewer rows with a nonzero norm than r: fill with the lowest unchosen indices.
      pick = [...Array(n).keys()].find((j) => !chosen.includes(j))!;
    } else {
      left -= remaining[pick]!;
      remaining[pick] = 0;
    }
    chosen.push(pick);
  }
  const order = chosen.map((row) => row).sort((a, b) => a - b);
  const weights = Float32Array.from(order, (row) => {
    const q = squaredNorms[row]! / total;
    return q > 0 ? 1 / Math.sqrt(r * q) : 1;
  });
  return { rows: Int32Array.from(order), weights };
}
