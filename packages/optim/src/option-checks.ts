/** Validation of the numeric options the optimizers share, naming the field and what is allowed. */
import { check } from '@octet/core';

export function checkLearningRate(label: string, lr: number): void {
  check(typeof lr === 'number' && Number.isFinite(lr) && lr > 0, `${label} lr`, lr, 'a number > 0');
}

export function checkInteger(label: string, value: number, min: number, max = Number.POSITIVE_INFINITY): void {
  check(
    Number.isInteger(value) && value >= min && value <= max,
    label,
    value,
    max === Number.POSITIVE_INFINITY ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`,
  );
}
