/**
 * GRASS (Muhamed et al. 2024): Adam on a structured row-sparse projection of each 2-D gradient.
 * Every `refreshEvery` steps, r rows are chosen (top-norm, norm²-sampling or uniform, see
 * grass-projection.ts) and the moments restart; each step then runs
 *   gs = ρ ⊙ g[rows],  m, v ← Adam moments of gs,  p[rows] −= ρ ⊙ lr·m̂/(√v̂ + eps)
 * (plus decoupled weight decay on the whole weight); the other rows are not updated that step.
 * Bias corrections count the steps since the restart. Other parameters use AdamW.
 * State of an (R × C) weight: 8·r·C bytes of moments plus 8·r for the rows and their weights.
 */
import { check, op, Random, type Tensor, tidy, type Variable } from '@octet/core';
import { AdamFamilyBase, type AdamFamilyOptions } from './adam-family.js';
import { adamDirection, adamMoments, correction, decayed } from './adam-math.js';
import { type RowSelection, selectRows } from './grass-projection.js';
import type { StateScalar } from './optimizer.js';
import { checkInteger } from './option-checks.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

export interface GrassOptions extends AdamFamilyOptions {
  /** Rows kept per weight; default ⌈rows / 4⌉ (capped at the number of rows). */
  rank?: number;
  /** Steps between row re-selections, which also restart the moments (default 200). */
  refreshEvery?: number;
  /** How rows are chosen (default 'top-norm'). */
  selection?: RowSelection;
  /** Which parameters are projected (default: every 2-D parameter); the others use AdamW. */
  select?: (p: Variable) => boolean;
  /** Seed of the row sampling (default 0). */
  seed?: number;
}

interface Plan {
  rows: number;
  rank: number;
  index: number;
}

export class Grass extends AdamFamilyBase {
  readonly name = 'grass';
  readonly refreshEvery: number;
  readonly selection: RowSelection;
  readonly seed: number;
  private readonly plans = new Map<Variable, Plan>();

  constructor(params: readonly ParamGroup[] | readonly Variable[], options: GrassOptions) {
    super('Grass', params, options);
    const { rank, refreshEvery = 200, selection = 'top-norm', select = (p) => p.rank === 2, seed = 0 } = options;
    if (rank !== undefined) checkInteger('Grass rank', rank, 1);
    checkInteger('Grass refreshEvery', refreshEvery, 1);
    check(['top-norm', 'norm2', 'uniform'].includes(selection), 'Grass selection', selection, "'top-norm', 'norm2' or 'uniform'");
    checkInteger('Grass seed', seed, 0);
    this.refreshEvery = refreshEvery;
    this.selection = selection;
    this.seed = seed;
    this.params().forEach((p, index) => {
      if (!(p.rank === 2 && select(p))) {
        this.addMoments(p);
        return;
      }
      const [rows, cols] = p.shape as [number, number];
      const r = Math.min(rows, rank ?? Math.ceil(rows / 4));
      this.plans.set(p, { rows, rank: r, index });
      this.addMoments(p, [r, cols]); // moments of the selected rows only
      this.addState(`${p.name}.rows`, op.fill([r], 0, 'int32'));
      this.addState(`${p.name}.row_weights`, op.zeros([r, 1]));
    });
  }

  isProjected(p: Variable): boolean {
    return this.plans.has(p);
  }

  /** A refresh reads the squared norms of the gradient's rows on the host. */
  protected override hostReads(p: Variable, g: Tensor, step: number): Record<string, Tensor> {
    const refreshes = this.plans.has(p) && (step - 1) % this.refreshEvery === 0;
    return refreshes ? { rowSquaredNorms: op.sum(op.square(g), 1) } : {};
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    const t = this.stepCount;
    const m = this.getState(`${p.name}.exp_avg`);
    const v = this.getState(`${p.name}.exp_avg_sq`);
    const plan = this.plans.get(p);
    let local = t;
    if (plan) {
      local = ((t - 1) % this.refreshEvery) + 1;
      if (local === 1) this.refresh(p, g, plan, Math.floor((t - 1) / this.refreshEvery));
    }
    tidy(() => {
      const rows = plan ? this.getState(`${p.name}.rows`) : null;
      const weights = plan ? this.getState(`${p.name}.row_weights`) : null;
      const compressed = rows && weights ? op.mul(op.gather(g, rows), weights) : g;
      const moments = adamMoments(m, v, compressed, this.beta1, this.beta2);
      const direction = adamDirection(moments.m, moments.v, lr, correction(this.beta1, local), correction(this.beta2, local), this.eps);
      const update = rows && weights && plan ? op.scatterAdd(op.mul(direction, weights), rows, plan.rows) : direction;
      m.assign(moments.m);
      v.assign(moments.v);
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
    });
  }

  /** Chooses the rows (host-side, see grass-projection.ts) and restarts the moments. */
  private refresh(p: Variable, g: Tensor, plan: Plan, refreshIndex: number): void {
    tidy(() => {
      const squaredNorms = this.readHost(p, g).rowSquaredNorms as Float32Array;
      const random = new Random((this.seed + plan.index * 7919 + refreshIndex * 104729) >>> 0);
      const { rows, weights } = selectRows(squaredNorms, plan.rank, this.selection, random);
      this.getState(`${p.name}.rows`).assign(op.tensor(rows, [plan.rank], 'int32'));
      this.getState(`${p.name}.row_weights`).assign(op.tensor(weights, [plan.rank, 1]));
      for (const name of ['exp_avg', 'exp_avg_sq']) {
        const state = this.getState(`${p.name}.${name}`);
        state.assign(op.zeros(state.shape));
      }
    });
  }

  protected override scalars(): Record<string, StateScalar> {
    return { refreshEvery: this.refreshEvery, selection: this.selection, seed: this.seed };
  }
}
