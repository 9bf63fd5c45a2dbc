/**
 * AdamW whose moments are held compressed: each step decodes m and v to f32, runs AdamW's update
 * (the same kernels as `AdamW`), and encodes the new moments. Which codec holds which moment is the
 * subclass's choice (AdamW8bit, AdamWFp8, AdamW4bit); small tensors keep f32 moments. Codecs are
 * written with core's ops (block statistics as reductions, codebooks through the MapQuantize and
 * MapDequantize kernels, FP8 through Quantize and Dequantize), so the whole step runs on the
 * backend that holds the parameters, a GPU's included, and nothing is read back to the host.
 */
import { keep, op, type Tensor, tidy, type Variable } from '@octet/core';
import { AdamFamilyBase, type AdamFamilyOptions } from './adam-family.js';
import { adamDirection, adamMoments, correction, decayed } from './adam-math.js';
import type { ParamGroup, ResolvedGroup } from './param-groups.js';

/** How one moment tensor is held: its state tensors, and the kernels that encode and decode them. */
export interface MomentCodec {
  /** State tensors (suffix → dtype and shape) for a moment shaped `shape`. */
  layout(shape: readonly number[]): Record<string, { dtype: 'float32' | 'uint8' | 'int32'; shape: number[] }>;
  /** The moment's f32 values (shaped `shape`) from its state tensors (same keys as `layout`). */
  decode(state: Record<string, Tensor>, shape: readonly number[]): Tensor;
  /** New state tensors for `values` (shaped `shape`), each shaped as `layout` says. */
  encode(values: Tensor, shape: readonly number[]): Record<string, Tensor>;
}

/** f32 moments through the codec path unchanged: the degenerate setting of every codec. */
export const IDENTITY_CODEC: MomentCodec = {
  layout: (shape) => ({ values: { dtype: 'float32', shape: [...shape] } }),
  decode: (state) => state.values!,
  encode: (values) => ({ values }),
};

export type Moment = 'exp_avg' | 'exp_avg_sq';

/** AdamW's options plus what every compressed variant takes. */
export interface CompressedAdamWOptions extends AdamFamilyOptions {
  /** Keep every moment in f32 through the same codec path (the degenerate setting, for tests). */
  identityCodec?: boolean;
}

interface MomentStore {
  codec: MomentCodec;
  slots: Record<string, Variable>;
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
   * selects (IDENTITY_CODEC does with `identityCodec`), the others keep f32 moments. Subclasses call
   * it at the end of their constructor, once their options are set.
   */
  protected initStates(codecs: Record<Moment, MomentCodec>, compresses: (p: Variable) => boolean): void {
    const codecFor = (moment: Moment) => (this.identityCodec ? IDENTITY_CODEC : codecs[moment]);
    for (const p of this.params()) {
      if (!compresses(p)) {
        this.addMoments(p);
        continue;
      }
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

  /** One moment's state tensors, named `<param>.<moment>.<suffix>`, starting as the encoding of zeros (a map's zero need not be code 0). */
  private makeStore(p: Variable, moment: Moment, codec: MomentCodec): MomentStore {
    const initial = tidy(() => {
      const encoded = codec.encode(op.zeros(p.shape), p.shape);
      for (const t of Object.values(encoded)) keep(t);
      return encoded;
    });
    const slots = Object.fromEntries(
      Object.keys(codec.layout(p.shape)).map((suffix) => [suffix, this.addState(`${p.name}.${moment}.${suffix}`, initial[suffix]!)]),
    );
    return { codec, slots };
  }

  protected update(p: Variable, g: Tensor, group: ResolvedGroup, lr: number): void {
    const stores = this.stores.get(p);
    if (stores === undefined) {
      this.adamWStep(p, g, group, lr);
      return;
    }
    const t = this.stepCount;
    // Each stage in a scope of its own: a codec's passes over the parameter's size go as soon as
    // its result is made, so a step holds a few parameter-sized tensors, not every pass's.
    tidy(() => {
      const read = ({ codec, slots }: MomentStore) => tidy(() => codec.decode(slots, p.shape));
      const moments = tidy(() => adamMoments(read(stores.exp_avg), read(stores.exp_avg_sq), g, this.beta1, this.beta2));
      const update = tidy(() => adamDirection(moments.m, moments.v, lr, correction(this.beta1, t), correction(this.beta2, t), this.eps));
      for (const [moment, value] of [
        ['exp_avg', moments.m],
        ['exp_avg_sq', moments.v],
      ] as const) {
        const { codec, slots } = stores[moment];
        const encoded = tidy(() => codec.encode(value, p.shape));
        for (const [suffix, slot] of Object.entries(slots)) slot.assign(encoded[suffix]!);
      }
      p.assign(op.sub(decayed(p, lr, this.weightDecay, group.weightDecay), update));
    });
  }
}
