/**
 * AdamW whose moments are held compressed: each step decodes m and v to f32, runs AdamW's update
 * as kernels (the same arithmetic as `AdamW`), and encodes the new moments. Which codec holds which
 * moment is the subclass's choice (AdamW8bit, AdamWFp8, AdamW4bit); small tensors keep f32 moments.
 */
import { type AnyTypedArray, op, type Tensor, tidy, type Variable } from '@octet/core';
import { adamDirection, adamMoments, correction, decayed } from './adam-math.js';
import { AdamFamilyBase, type AdamFamilyOptions } from './optimizer.js';
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

/** AdamW's options plus what every compressed variant takes. */
export interface CompressedAdamWOptions extends AdamFamilyOptions {
  /** Keep every moment in f32 through the same host path (the degenerate setting, for tests). */
  identityCodec?: boolean;
}

export abstract class CompressedAdamW extends AdamFamilyBase {
  private readonly identityCodec: boolean;
  /** The moments of the compressed parameters; the others have AdamW's f32 moments (`addMoments`). */
  private readonly stores = new Map<Variable, Record<Moment, MomentStore>>();

  constructor(label: string, params: readonly ParamGroup[] | readonly Variable[], options: CompressedAdamWOptions) {
    super(label, params, options);
    this.identityCodec = options.identityCodec ?? false;
  }

  /**
   * Creates the moment stores: `codecs` hold the moments of the parameters that `compresses`
   * selects (IDENTITY_CODEC does with `identityCodec`), the others keep f32 moments on the device.
   * Subclasses call it at the end of their constructor, once their options are set.
   */
  protected initStates(codecs: Record<Moment, HostCodec>, compresses: (p: Variable) => boolean): void {
    for (const p of this.params()) {
      if (!compresses(p)) {
        this.addMoments(p);
        continue;
      }
      const codecFor = (moment: Moment) => (this.identityCodec ? IDENTITY_CODEC : codecs[moment]);
      this.stores.set(p, {
        exp_avg: this.makeStore(p, 'exp_avg', codecFor('exp_avg')),
        exp_avg_sq: this.makeStore(p, 'exp_avg_sq', codecFor('exp_avg_sq')),
      });
    }
  }

  /** Whether `p`'s moments are compressed (false: f32 as in AdamW). */
  isCompressed(p: Variable): boolean {
    return this.stores.has(p);
  }

  /** The store of one moment: `codec`'s state tensors. */
  private makeStore(p: Variable, moment: Moment, codec: HostCodec): MomentStore {
    const base = `${p.name}.${moment}`;
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
    const stores = this.stores.get(p);
    if (stores === undefined) {
      this.adamWStep(p, g, group, lr);
      return;
    }
    const t = this.stepCount;
    tidy(() => {
      const moments = adamMoments(stores.exp_avg.read(), stores.exp_avg_sq.read(), g, this.beta1, this.beta2);
      const update = adamDirection(moments.m, moments.v, lr, correction(this.beta1, t), correction(this.beta2, t), this.eps);
      stores.exp_avg.write(moments.m);
      stores.exp_avg_sq.write(moments.v);
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
    });
  }
}
