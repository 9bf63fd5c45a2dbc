/** FP8 health warnings: operands whose saturated or flushed fraction crosses a threshold. */
import { FP8_FORMATS, type Fp8OperandHealth } from '@octet/core';

export interface HealthWarning {
  step: number;
  layer: string;
  operand: Fp8OperandHealth['operand'];
  kind: 'saturation' | 'underflow';
  fraction: number;
  threshold: number;
  message: string;
}

const pct = (f: number) => `${(f * 100).toPrecision(3)}%`;

/** Warnings for operands whose saturated or flushed fraction is above the thresholds. */
export function healthWarnings(
  step: number,
  health: readonly Fp8OperandHealth[],
  { saturationWarn, underflowWarn }: { saturationWarn: number; underflowWarn: number },
): HealthWarning[] {
  const out: HealthWarning[] = [];
  for (const h of health) {
    if (h.saturated > saturationWarn) {
      out.push({
        step,
        layer: h.layer,
        operand: h.operand,
        kind: 'saturation',
        fraction: h.saturated,
        threshold: saturationWarn,
        message: `step ${step}: ${h.layer} ${h.operand}: ${pct(h.saturated)} of elements saturate ${h.format} (|x·scale| > ${FP8_FORMATS[h.format].max}; amax ${h.amax.toPrecision(3)}, scale ${h.scale.toPrecision(3)}; threshold ${pct(saturationWarn)})`,
      });
    }
    if (h.flushed > underflowWarn) {
      out.push({
        step,
        layer: h.layer,
        operand: h.operand,
        kind: 'underflow',
        fraction: h.flushed,
        threshold: underflowWarn,
        message: `step ${step}: ${h.layer} ${h.operand}: ${pct(h.flushed)} of nonzero elements flush to zero in ${h.format} (amax ${h.amax.toPrecision(3)}, scale ${h.scale.toPrecision(3)}; threshold ${pct(underflowWarn)})`,
      });
    }
  }
  return out;
}

/** Operands named in one summary line; the rest are counted (every one is in metrics.jsonl). */
const NAMED_OPERANDS = 8;

/**
 * One line for a step's warnings, per kind: how many operands, which, and the worst fraction, e.g.
 * `step 25: 12 operands flush to zero above 1.00% (worst 35.2%, blocks.0.mlp.down dy): blocks.0.attn.q dy, ...`.
 */
export function summariseHealthWarnings(warnings: readonly HealthWarning[]): string {
  if (warnings.length === 0) return '';
  const parts: string[] = [];
  for (const kind of ['saturation', 'underflow'] as const) {
    const ofKind = warnings.filter((w) => w.kind === kind).sort((a, b) => b.fraction - a.fraction);
    if (ofKind.length === 0) continue;
    const worst = ofKind[0]!;
    const names = ofKind.slice(0, NAMED_OPERANDS).map((w) => `${w.layer} ${w.operand}`);
    if (ofKind.length > NAMED_OPERANDS) names.push(`${ofKind.length - NAMED_OPERANDS} more in metrics.jsonl`);
    const what = kind === 'saturation' ? 'saturate' : 'flush to zero';
    const count = `${ofKind.length} operand${ofKind.length === 1 ? '' : 's'}`;
    parts.push(
      `${count} ${what} above ${pct(worst.threshold)} (worst ${pct(worst.fraction)}, ${worst.layer} ${worst.operand}): ${names.join(', ')}`,
    );
  }
  return `step ${warnings[0]!.step}: ${parts.join('; ')}`;
}
