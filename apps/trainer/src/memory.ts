/**
 * Memory accounting of a training step. The components are what is held by design (weights,
 * gradients, optimizer state, FP8 scaling state, activations saved for backward); `stepPeak` is the
 * engine's high-water mark of live bytes over the whole step (forward, backward, update, every
 * temporary), so it is at least what any moment's components add up to.
 */
import { memory, resetPeakMemory } from '@octet/core';
import type { Gpt } from '@octet/models';

/** Bytes held per component (f32 unless stated). */
export interface MemoryByComponent {
  weights: number;
  gradients: number;
  optimizer: number;
  /** Delayed-scaling amax histories. */
  fp8ScalingState: number;
  /** Tensors saved for backward after the forward pass of one step. */
  activations: number;
  /** The high-water mark of live bytes over the step: forward, backward, update, temporaries included. */
  stepPeak: number;
}

/** `MemoryByComponent` as the summary spells it. */
export interface PeakBytes {
  weights: number;
  gradients: number;
  optimizer: number;
  fp8_scaling_state: number;
  activations: number;
  step_peak: number;
}

/** The parts that do not change while training: f32 weights, their gradients, and non-trainable state (amax histories). */
export function modelBytes(model: Gpt): Pick<MemoryByComponent, 'weights' | 'gradients' | 'fp8ScalingState'> {
  let weights = 0;
  let state = 0;
  for (const [, v] of model.namedVariables()) {
    if (v.trainable) weights += v.size * 4;
    else state += v.size * 4;
  }
  return { weights, gradients: weights, fp8ScalingState: state };
}

/** Measures one step: call `start()` before the forward, `afterForward()` once the loss exists, `end()` after the update. */
export class StepMemory {
  private before = 0;
  activations = 0;

  start(): void {
    resetPeakMemory();
    this.before = memory().numBytes;
  }

  /** Bytes that appeared during the forward: what backward will read. */
  afterForward(): void {
    this.activations = memory().numBytes - this.before;
  }

  /** The high-water mark since `start()`. */
  end(): number {
    return memory().peakBytes;
  }
}

export function maxByComponent(a: MemoryByComponent, b: MemoryByComponent): MemoryByComponent {
  const out = { ...a };
  for (const key of Object.keys(b) as (keyof MemoryByComponent)[]) out[key] = Math.max(a[key], b[key]);
  return out;
}

export function summaryBytes({ weights, gradients, optimizer, fp8ScalingState, activations, stepPeak }: MemoryByComponent): PeakBytes {
  return { weights, gradients, optimizer, fp8_scaling_state: fp8ScalingState, activations, step_peak: stepPeak };
}

/** The process's peak resident set size in bytes (the OS's figure, for comparison with `step_peak`). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
