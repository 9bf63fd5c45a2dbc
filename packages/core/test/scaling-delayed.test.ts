// DelayedScaling against TransformerEngine's documented behaviour and a literal model of its update kernel.
import { describe, expect, it } from 'vitest';
import { type AmaxComputeAlgo, DelayedScaling, OctetArgumentError, PER_ROW, quantize } from '../src/index.js';
import { seededUint32 } from './helpers/fp8-inputs.js';

/** A tensor whose amax is exactly `amax` (and which holds smaller values too). */
const tensorWithAmax = (amax: number) => new Float32Array([amax / 4, -amax, amax / 2, 0]);

/** Quantizes one tensor per amax with `delayed` and returns the scale each step used. */
function scalesUsed(delayed: DelayedScaling, amaxes: number[], format: 'e4m3fn' | 'e5m2' = 'e4m3fn'): number[] {
  return amaxes.map((amax) => quantize(tensorWithAmax(amax), [4], { format, scaling: delayed }).scales[0]!);
}

/**
 * TransformerEngine's delayed-scaling update written out literally (delayed_scaling.cu,
 * `amax_and_scale_update`): before each step the history is rolled by -1 and slot 0 zeroed;
 * amax is the max over the whole pre-roll history ('max') or its slot 0 ('most_recent');
 * scale = fp8_max·2^-margin / amax, or the previous scale when amax is 0 or not finite. The
 * step's cast then writes its amax into slot 0.
 */
function transformerEngineScales(amaxes: number[], length: number, algo: AmaxComputeAlgo, margin: number, fp8Max = 448): number[] {
  let history = new Array<number>(length).fill(0);
  let scale = 1;
  const used: number[] = [];
  for (const stepAmax of amaxes) {
    const last = history[0]!;
    const amax = algo === 'most_recent' ? last : Math.max(...history);
    if (Number.isFinite(amax) && amax > 0) scale = Math.fround(Math.fround(fp8Max * 2 ** -margin) / amax);
    history = [...history.slice(1), last];
    history[0] = 0;
    used.push(scale);
    history[0] = stepAmax;
  }
  return used;
}

describe('DelayedScaling', () => {
  it("has TransformerEngine's defaults: history 1024, margin 0, max", () => {
    const delayed = new DelayedScaling();
    expect([delayed.historyLength, delayed.margin, delayed.amaxComputeAlgo]).toEqual([1024, 0, 'max']);
    expect(delayed.kind).toBe('delayed');
    expect(delayed.scales).toBeNull();
  });

  it('uses scale 1 on the first step, then the max over the last historyLength amaxes', () => {
    const delayed = new DelayedScaling({ historyLength: 3 });
    const amaxes = [2, 8, 1, 0.5, 0.25, 4, 1];
    // step 1: no history; 2: {2}; 3: {2,8}; 4: {2,8,1}; 5: {8,1,0.5}; 6: {1,0.5,0.25}; 7: {0.5,0.25,4}
    expect(scalesUsed(delayed, amaxes)).toEqual([1, 224, 56, 56, 56, 448, 112]);
    expect(delayed.steps).toBe(7);
    expect(delayed.amaxHistory().map((row) => row[0])).toEqual([1, 4, 0.25]); // newest first, 3 kept
  });

  it("most_recent uses the previous step's amax only", () => {
    const delayed = new DelayedScaling({ historyLength: 3, amaxComputeAlgo: 'most_recent' });
    expect(scalesUsed(delayed, [2, 8, 1, 0.5, 0.25, 4, 1])).toEqual([1, 224, 56, 448, 896, 1792, 112]);
  });

  it('divides the scale by 2^margin', () => {
    const delayed = new DelayedScaling({ margin: 2 });
    expect(scalesUsed(delayed, [3, 3], 'e5m2')).toEqual([1, Math.fround(Math.fround(57344 / 3) / 4)]);
  });

  it('keeps the previous scale when the amax is 0 or not finite (never inf or NaN)', () => {
    const delayed = new DelayedScaling({ amaxComputeAlgo: 'most_recent' });
    expect(scalesUsed(delayed, [4, 0, Infinity, 7, 1])).toEqual([1, 112, 112, 112, 64]);
    const fresh = new DelayedScaling();
    expect(scalesUsed(fresh, [0, 0, 2])).toEqual([1, 1, 1]);
  });

  it('rounds scales down to powers of two when asked', () => {
    const delayed = new DelayedScaling();
    quantize(tensorWithAmax(3), [4], { format: 'e4m3fn', scaling: delayed, powerOfTwoScales: true });
    const second = quantize(tensorWithAmax(3), [4], { format: 'e4m3fn', scaling: delayed, powerOfTwoScales: true });
    expect(second.scales[0]).toBe(128); // 448 / 3 = 149.3 → 128
  });

  it.each([
    ['max', 0],
    ['max', 1],
    ['most_recent', 0],
    ['most_recent', 3],
  ] as const)("matches a literal model of TE's update kernel over 60 random steps (%s, margin %d)", (algo, margin) => {
    const random = seededUint32(algo.length * 10 + margin);
    const amaxes = Array.from({ length: 60 }, (_, step) => {
      const r = random();
      if (step % 17 === 5) return 0; // a step where the tensor was all zeros
      return Math.fround(2 ** ((r % 24) - 12) * (1 + (r >>> 24) / 256));
    });
    const delayed = new DelayedScaling({ historyLength: 5, amaxComputeAlgo: algo, margin });
    expect(scalesUsed(delayed, amaxes)).toEqual(transformerEngineScales(amaxes, 5, algo, margin));
  });

  it('keeps one history per tile with finer granularity', () => {
    const delayed = new DelayedScaling({ historyLength: 2 });
    const step = (a: number, b: number) =>
      quantize(new Float32Array([a, -a / 2, b / 3, -b]), [2, 2], { format: 'e4m3fn', granularity: PER_ROW, scaling: delayed });
    expect(Array.from(step(1, 4).scales)).toEqual([1, 1]);
    expect(Array.from(step(2, 8).scales)).toEqual([448, 112]);
    expect(Array.from(step(0.5, 0.5).scales)).toEqual([224, 56]);
    expect(delayed.scaleCount).toBe(2);
    expect(delayed.amaxHistory().map((row) => Array.from(row))).toEqual([
      [0.5, 0.5],
      [2, 8],
    ]);
  });

  it('can be driven directly: nextScales then record', () => {
    const delayed = new DelayedScaling({ historyLength: 2 });
    expect(Array.from(delayed.nextScales('e5m2', 1))).toEqual([1]);
    delayed.record(new Float32Array([Number.NaN]));
    expect(Array.from(delayed.nextScales('e5m2', 1))).toEqual([1]); // NaN is skipped as fmaxf does
    delayed.record(new Float32Array([14]));
    expect(Array.from(delayed.nextScales('e5m2', 1))).toEqual([4096]);
  });

  it('rejects bad options and a change in the number of scales', () => {
    expect(() => new DelayedScaling({ historyLength: 0 })).toThrow(/^options\.historyLength: got 0; allowed: an integer ≥ 1/);
    expect(() => new DelayedScaling({ margin: Number.NaN })).toThrow(/^options\.margin: got NaN/);
    expect(() => new DelayedScaling({ amaxComputeAlgo: 'mean' as AmaxComputeAlgo })).toThrow(
      /^options\.amaxComputeAlgo: got "mean"; allowed: 'max' or 'most_recent'/,
    );
    const delayed = new DelayedScaling();
    quantize(new Float32Array(4), [2, 2], { format: 'e4m3fn', granularity: PER_ROW, scaling: delayed });
    expect(() => quantize(new Float32Array(4), [2, 2], { format: 'e4m3fn', scaling: delayed })).toThrow(OctetArgumentError);
    expect(() => quantize(new Float32Array(4), [2, 2], { format: 'e4m3fn', scaling: delayed })).toThrow(
      /scale count of a DelayedScaling: got 1; allowed: 2/,
    );
    expect(() => delayed.record([1, 2] as unknown as Float32Array)).toThrow(/^amax: got \[1, 2\]/);
  });
});
