/**
 * AdamSNSM's projection refresh: the r directions of a weight's smaller dimension that its
 * momentum is kept in, chosen every `gap` steps from the current gradient.
 * - 'svd': the top-r singular vectors on the smaller side, by subspace (block power) iteration on
 *   GᵀG (or GGᵀ) with a seeded start; orthonormal columns.
 * - 'rows': the r indices of the smaller dimension with the largest gradient norms.
 * - 'random': r distinct indices drawn uniformly (seeded).
 *
 * HOST-SIDE: runs on the host on the gradient read back (`readHost`: `dataSync()`, or fetched
 * first by `applyGradientsAsync`; octet has no SVD or QR kernel); it runs once every `gap` steps,
 * while the per-step projections are matmuls on the device.
 */
import { Random } from '@octet/core';

/**
 * Orthonormal (dim × r, row-major) basis approximating the top-r singular subspace of G (rows × cols)
 * on its `side` ('right': cols, from GᵀG; 'left': rows, from GGᵀ).
 */
export function topSingularSubspace(
  g: Float32Array,
  rows: number,
  cols: number,
  r: number,
  side: 'left' | 'right',
  { iterations = 8, seed = 0 }: { iterations?: number; seed?: number } = {},
): Float32Array {
  const dim = side === 'right' ? cols : rows;
  // C = GᵀG (cols × cols) or GGᵀ (rows × rows), in doubles.
  const c = new Float64Array(dim * dim);
  if (side === 'right') {
    for (let i = 0; i < rows; i++) {
      const row = i * cols;
      for (let a = 0; a < cols; a++) {
        const ga = g[row + a]!;
        if (ga === 0) continue;
        for (let b = a; b < cols; b++) c[a * dim + b]! += ga * g[row + b]!;
      }
    }
  } else {
    for (let a = 0; a < rows; a++) {
      for (let b = a; b < rows; b++) {
        let sum = 0;
        for (let j = 0; j < cols; j++) sum += g[a * cols + j]! * g[b * cols + j]!;
        c[a * dim + b] = sum;
      }
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) c[a * dim + b] = c[b * dim + a]!;
  const random = new Random(seed);
  // Q (dim × r), column-major in `q` for the Gram–Schmidt loops.
  let q = new Float64Array(dim * r);
  for (let i = 0; i < q.length; i++) q[i] = random.normal();
  orthonormalize(q, dim, r, random);
  for (let it = 0; it < iterations; it++) {
    const z = new Float64Array(dim * r);
    for (let k = 0; k < r; k++) {
      const col = k * dim;
      for (let a = 0; a < dim; a++) {
        let sum = 0;
        const rowA = a * dim;
        for (let b = 0; b < dim; b++) sum += c[rowA + b]! * q[col + b]!;
        z[col + a] = sum;
      }
    }
    q = z;
    orthonormalize(q, dim, r, random);
  }
  const out = new Float32Array(dim * r);
  for (let a = 0; a < dim; a++) for (let k = 0; k < r; k++) out[a * r + k] = q[k * dim + a]!;
  return out;
}

/** Modified Gram–Schmidt, twice, on the r columns (length dim) of `q`; a column that vanishes is redrawn. */
function orthonormalize(q: Float64Array, dim: number, r: number, random: Random): void {
  for (let k = 0; k < r; k++) {
    const col = k * dim;
    let scaleBefore = 0;
    for (let a = 0; a < dim; a++) scaleBefore = Math.max(scaleBefore, Math.abs(q[col + a]!));
    for (let attempt = 0; ; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < k; j++) {
          let dot = 0;
          for (let a = 0; a < dim; a++) dot += q[j * dim + a]! * q[col + a]!;
          for (let a = 0; a < dim; a++) q[col + a]! -= dot * q[j * dim + a]!;
        }
      }
      let norm = 0;
      for (let a = 0; a < dim; a++) norm += q[col + a]! ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-10 * Math.max(scaleBefore, 1e-300) && norm > 0) {
        for (let a = 0; a < dim; a++) q[col + a]! /= norm;
        break;
      }
      if (attempt > 8) throw new Error('topSingularSubspace: could not complete an orthonormal basis');
      // The gradient has rank < r here: continue the basis with a random direction.
      for (let a = 0; a < dim; a++) q[col + a] = random.normal();
      scaleBefore = 1;
    }
  }
}

/** Euclidean norms of the slices of G (rows × cols) along `axis` 0 (one per row) or 1 (one per column). */
export function sliceNorms(g: Float32Array, rows: number, cols: number, perRow: boolean): Float64Array {
  const norms = new Float64Array(perRow ? rows : cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const x = g[i * cols + j]!;
      norms[perRow ? i : j]! += x * x;
    }
  }
  for (let i = 0; i < norms.length; i++) norms[i] = Math.sqrt(norms[i]!);
  return norms;
}

/** Indices of the r largest `scores`, in increasing index order (ties: lower index first). */
export function topIndices(scores: ArrayLike<number>, r: number): Int32Array {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return Int32Array.from(order.slice(0, r).sort((a, b) => a - b));
}

/** r distinct indices in [0, n), uniformly at random, in increasing order. */
export function uniformIndices(n: number, r: number, random: Random): Int32Array {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < r; i++) {
    const j = i + random.int(n - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return Int32Array.from(pool.slice(0, r).sort((a, b) => a - b));
}
