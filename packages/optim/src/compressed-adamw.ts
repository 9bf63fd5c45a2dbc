/**
 * AdamW whose moments are held compressed: each step decodes m and v to f32, runs AdamW's update
 * as kernels (the same arithmetic as `AdamW`), and encodes the new moments. Which codec holds which
 * moment is the subclass's choice (AdamW8bit, AdamWFp8, AdamW4bit); small tensors keep f32 moments.
 */
import { type AnyTypedArray, op, type Tensor, tidy, type Variable } from '@octet/core';
import { adamDirection, adamMoments, correction, decayed } from './adam-math.js';
import { type AdamFamilyOptions, checkAdamOptions, OptimizerBase } from './optimizer.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

/**
 * A codec for one moment tensor whose encode/decode run on the host (no kernel for it yet): the
 * state lives in backend tensors, is read with `dataSync()` and re-uploaded. A fused kernel can
 * replace `decode` → update → `encode` later without changing the state layout.
 */
export interface HostCodec {
  /** State tensors (suffix → dtype and shape) for a moment of `size` elements shaped `shape`. */
  layout(shape: readonly number[]): Record<string, { dtype: 'float32' | 'uint8' | 'int32'; shape: number[] }>;
  /** The moment's f32 values from its state arrays (same keys as `layout`). */
  decode(state: Record<string, AnyTypedArray>, shape: readonly number[]): Float32Array;
  /** New state arrays for `values`. */
  encode(values: Float32Array, shape: readonly number[]): Record<string, AnyTypedArray>;
}

/** f32 moments through the host unchanged: the degenerate setting of every codec. */
export const IDENTITY_CODEC: HostCodec = {
  layout: (shape) => ({ values: { dtype: 'float32', shape: [...shape] } }),
  decode: (state) => state.values as Float32Array,
  encode: (values) => ({ values }),
};

/** How one moment of one parameter is held. */
interface MomentStore {
  read(): Tensor;
  write(value: Tensor): void;
}

export type Moment = 'exp_avg' | 'exp_avg_sq';

export abstract class CompressedAdamW extends OptimizerBase {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly stores = new Map<Variable, Record<Moment, MomentStore>>();

  constructor(label: string, params: readonly ParamGroup[] | readonly Variable[], options: AdamFamilyOptions) {
    const checked = checkAdamOptions(label, options);
    super(label, params, checked.lr);
    this.beta1 = checked.beta1;
    this.beta2 = checked.beta2;
    this.eps = checked.eps;
    this.weightDecay = checked.weightDecay;
  }

  /** Creates the moment stores; subclasses call it at the end of their constructor, once their options are set. */
  protected initStates(): void {
    for (const p of this.params()) {
      this.stores.set(p, { exp_avg: this.makeStore(p, 'exp_avg'), exp_avg_sq: this.makeStore(p, 'exp_avg_sq') });
    }
  }

  /** The codec for moment `moment` of `p`, or null to keep it in f32 on the device. */
  protected abstract codecFor(p: Variable, moment: Moment): HostCodec | null;

  /** Whether `p`'s moments are compressed (false: f32 as in AdamW). */
  isCompressed(p: Variable): boolean {
    return this.codecFor(p, 'exp_avg') !== null || this.codecFor(p, 'exp_avg_sq') !== null;
  }

  private makeStore(p: Variable, moment: Moment): MomentStore {
    const codec = this.codecFor(p, moment);
    const base = `${p.name}.${moment}`;
    if (codec === null) {
      const slot = this.addState(base, op.zeros(p.shape));
      return { read: () => slot, write: (value) => slot.assign(value) };
    }
    const layout = codec.layout(p.shape);
    // Codes start as the encoding of zeros (a map's zero need not be byte 0).
    const initial = codec.encode(new Float32Array(p.size), p.shape);
    const slots = Object.entries(layout).map(
      ([suffix, { dtype, shape }]) => [suffix, this.addState(`${base}.${suffix}`, op.tensor(initial[suffix]!, shape, dtype))] as const,
    );
    const write = (values: Float32Array) => {
      const encoded = codec.encode(values, p.shape);
      for (const [suffix, slot] of slots) {
        const { dtype, shape } = layout[suffix]!;
        slot.assign(op.tensor(encoded[suffix]!, shape, dtype));
      }
    };
    return {
      read: () => {
        const state = Object.fromEntries(slots.map(([suffix, slot]) => [suffix, slot.dataSync()]));
        return op.tensor(codec.decode(state, p.shape), p.shape);
      },
      write: (value) => write(value.dataSync() as Float32Array),
    };
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    const t = this.stepCount;
    const stores = this.stores.get(p)!;
    tidy(() => {
      const moments = adamMoments(stores.exp_avg.read(), stores.exp_avg_sq.read(), g, this.beta1, this.beta2);
      const update = adamDirection(moments.m, moments.v, lr, correction(this.beta1, t), correction(this.beta2, t), this.eps);
      stores.exp_avg.write(moments.m);
      stores.exp_avg_sq.write(moments.v);
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
    });
  }
}
