/**
 * AdamSNSM: Subset-Norm step sizes with Subspace-Momentum (Nguyen et al. 2025) on 2-D weights,
 * AdamW everywhere else.
 * - Subset-Norm: one second-moment value per subset; by default per slice along the larger
 *   dimension (v_i = EMA(Σ_j g_ij²), the sum running over the smaller dimension), or per group of
 *   `subsetSize` consecutive elements (1: Adam's per-element v).
 * - Subspace-Momentum: every `gap` steps, P (smaller dim × r) is refreshed from the gradient (top-r
 *   singular vectors, top-norm rows or random rows) and the momentum restarts; then
 *   gp = Pᵀg,  m = β1·m + (1−β1)·gp,  num = P·m + (g − P·gp)  (momentum in the subspace, plain
 *   gradient in its complement),  p ← p·(1 − lr·wd) − lr·(num/c1)/(√(v/c2) + eps),
 *   where c1 counts the steps since the momentum restarted and c2 all steps.
 * State of an (R × C) weight, R ≥ C: 4·(R·r + R) bytes plus P (4·C·r for 'svd', 4·r otherwise);
 * with r = C/4 about 1/32 of AdamW's 8·R·C.
 */
import { check, op, Random, type Tensor, tidy, type Variable } from '@octet/core';
import { AdamFamilyBase, type AdamFamilyOptions } from './adam-family.js';
import { adamDirection, correction, decayed } from './adam-math.js';
import { sliceNorms, topIndices, topSingularSubspace, uniformIndices } from './adam-snsm-projection.js';
import type { StateScalar } from './optimizer.js';
import { checkInteger } from './option-checks.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

export type SubspaceProjection = 'svd' | 'rows' | 'random';

export interface AdamSNSMOptions extends AdamFamilyOptions {
  /** Subspace rank; default ⌈smaller dimension / 4⌉ (capped at the smaller dimension). */
  rank?: number;
  /** Steps between projection refreshes (default 200). */
  gap?: number;
  /** How P is chosen (default 'svd'). */
  projection?: SubspaceProjection;
  /** 'heuristic' (default: one value per slice along the larger dimension) or elements per subset. */
  subsetSize?: 'heuristic' | number;
  /** Which parameters get SN+SM (default: every 2-D parameter); the others use AdamW. */
  select?: (p: Variable) => boolean;
  /** Seed of the power iteration's start and of 'random' (default 0). */
  seed?: number;
  /** Subspace-iteration sweeps per SVD refresh (default 8). */
  svdIterations?: number;
}

interface Plan {
  rows: number;
  cols: number;
  /** rows ≥ cols: P acts on the columns (right side); else on the rows (left side). */
  tall: boolean;
  small: number;
  rank: number;
  /** Elements per subset, or 0 for the heuristic. */
  subset: number;
  index: number;
}

export class AdamSNSM extends AdamFamilyBase {
  readonly name = 'adam-snsm';
  readonly gap: number;
  readonly projection: SubspaceProjection;
  readonly subsetSize: 'heuristic' | number;
  readonly seed: number;
  readonly svdIterations: number;
  private readonly plans = new Map<Variable, Plan>();

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: AdamSNSMOptions) {
    super('AdamSNSM', params, options);
    const {
      rank,
      gap = 200,
      projection = 'svd',
      subsetSize = 'heuristic',
      select = (p) => p.rank === 2,
      seed = 0,
      svdIterations = 8,
    } = options;
    if (rank !== undefined) checkInteger('AdamSNSM rank', rank, 1);
    checkInteger('AdamSNSM gap', gap, 1);
    check(['svd', 'rows', 'random'].includes(projection), 'AdamSNSM projection', projection, "'svd', 'rows' or 'random'");
    if (subsetSize !== 'heuristic') checkInteger('AdamSNSM subsetSize', subsetSize, 1);
    checkInteger('AdamSNSM seed', seed, 0);
    checkInteger('AdamSNSM svdIterations', svdIterations, 0);
    this.gap = gap;
    this.projection = projection;
    this.subsetSize = subsetSize;
    this.seed = seed;
    this.svdIterations = svdIterations;
    this.params().forEach((p, index) => {
      if (!(p.rank === 2 && select(p))) {
        this.addMoments(p);
        return;
      }
      const [rows, cols] = p.shape as [number, number];
      const tall = rows >= cols;
      const small = Math.min(rows, cols);
      const r = Math.min(small, rank ?? Math.ceil(small / 4));
      const subset = subsetSize === 'heuristic' ? 0 : closestDivisorAtMost(p.size, subsetSize);
      const plan: Plan = { rows, cols, tall, small, rank: r, subset, index };
      this.plans.set(p, plan);
      this.addState(`${p.name}.exp_avg`, op.zeros(tall ? [rows, r] : [r, cols]));
      this.addState(`${p.name}.exp_avg_sq`, op.zeros(subset > 0 ? [p.size / subset, 1] : tall ? [rows, 1] : [1, cols]));
      if (projection === 'svd') this.addState(`${p.name}.projection`, op.zeros([small, r]));
      else this.addState(`${p.name}.projection_indices`, op.fill([r], 0, 'int32'));
    });
  }

  /** Whether `p` gets Subset-Norm and Subspace-Momentum (else AdamW). */
  isProjected(p: Variable): boolean {
    return this.plans.has(p);
  }

  /** A refresh that chooses P from the gradient ('svd', 'rows') reads the gradient on the host. */
  protected override hostReads(p: Variable, g: Tensor, step: number): Record<string, Tensor> {
    const refreshes = this.plans.has(p) && (step - 1) % this.gap === 0 && this.projection !== 'random';
    return refreshes ? { gradient: g } : {};
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    const plan = this.plans.get(p);
    if (!plan) {
      this.adamWStep(p, g, group, lr);
      return;
    }
    const t = this.stepCount;
    const m = this.getState(`${p.name}.exp_avg`);
    const v = this.getState(`${p.name}.exp_avg_sq`);
    const sinceRefresh = (t - 1) % this.gap;
    if (sinceRefresh === 0) this.refresh(p, g, plan, Math.floor((t - 1) / this.gap));
    tidy(() => {
      const projection = this.projectionMatrix(p, plan); // (small × r)
      const project = (x: Tensor) => (plan.tall ? op.matMul(x, projection) : op.matMul(projection, x, true, false));
      const back = (x: Tensor) => (plan.tall ? op.matMul(x, projection, false, true) : op.matMul(projection, x));
      const gp = project(g);
      const mNew = op.add(op.mulScalar(m, this.beta1), op.mulScalar(gp, 1 - this.beta1));
      const numerator = op.add(back(mNew), op.sub(g, back(gp)));
      const squares = op.square(g);
      const subsetSums =
        plan.subset > 0
          ? op.sum(op.reshape(squares, [p.size / plan.subset, plan.subset]), 1, true)
          : op.sum(squares, plan.tall ? 1 : 0, true);
      const vNew = op.add(op.mulScalar(v, this.beta2), op.mulScalar(subsetSums, 1 - this.beta2));
      const shaped = plan.subset > 0 ? op.reshape(numerator, [p.size / plan.subset, plan.subset]) : numerator;
      const direction = adamDirection(shaped, vNew, lr, correction(this.beta1, sinceRefresh + 1), correction(this.beta2, t), this.eps);
      m.assign(mNew);
      v.assign(vNew);
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), op.reshape(direction, p.shape)));
    });
  }

  /** P as a dense (small × r) matrix: the stored basis, or one-hot columns for selected indices. */
  private projectionMatrix(p: Variable, plan: Plan): Tensor {
    if (this.projection === 'svd') return this.getState(`${p.name}.projection`);
    return op.transpose(op.oneHot(this.getState(`${p.name}.projection_indices`), plan.small), [1, 0]);
  }

  /** New P from the gradient (host-side, see adam-snsm-projection.ts) and a fresh momentum. */
  private refresh(p: Variable, g: Tensor, plan: Plan, refreshIndex: number): void {
    const seed = (this.seed + plan.index * 7919 + refreshIndex * 104729) >>> 0;
    tidy(() => {
      const m = this.getState(`${p.name}.exp_avg`);
      m.assign(op.zeros(m.shape));
      if (this.projection === 'random') {
        const indices = uniformIndices(plan.small, plan.rank, new Random(seed));
        this.getState(`${p.name}.projection_indices`).assign(op.tensor(indices, [plan.rank], 'int32'));
        return;
      }
      const values = this.readHost(p, g).gradient as Float32Array;
      if (this.projection === 'rows') {
        // Slices of the smaller dimension: columns of a tall weight, rows of a wide one.
        const indices = topIndices(sliceNorms(values, plan.rows, plan.cols, !plan.tall), plan.rank);
        this.getState(`${p.name}.projection_indices`).assign(op.tensor(indices, [plan.rank], 'int32'));
        return;
      }
      const basis = topSingularSubspace(values, plan.rows, plan.cols, plan.rank, plan.tall ? 'right' : 'left', {
        iterations: this.svdIterations,
        seed,
      });
      this.getState(`${p.name}.projection`).assign(op.tensor(basis, [plan.small, plan.rank]));
    });
  }

  protected override scalars(): Record<string, StateScalar> {
    return { gap: this.gap, projection: this.projection, subsetSize: this.subsetSize, seed: this.seed };
  }
}

/** The largest divisor of n that is at most k (the paper's subset size rule). */
function closestDivisorAtMost(n: number, k: number): number {
  for (let d = Math.min(n, k); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
