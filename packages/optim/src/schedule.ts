import { check } from '@octet/core';

/** Linear warmup to `peak`, then cosine decay to `peak · minRatio` at `totalSteps` (nanoGPT's schedule). */
export function warmupCosine({
  peak,
  warmupSteps,
  totalSteps,
  minRatio = 0.1,
}: {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  minRatio?: number;
}) {
  check(Number.isFinite(peak) && peak > 0, 'lr', peak, 'a number > 0');
  check(Number.isInteger(warmupSteps) && warmupSteps >= 0, 'warmupSteps', warmupSteps, 'an integer ≥ 0');
  check(Number.isInteger(totalSteps) && totalSteps >= 1, 'totalSteps', totalSteps, 'an integer ≥ 1');
  return (step: number): number => {
    if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
  };
}
