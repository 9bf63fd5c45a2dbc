/**
 * The conformance suite: every kernel of the contract (KERNEL_NAMES), gradients of composite
 * functions, and the tiny GPT's logits and loss curve, each run on a backend and on the CPU reference
 * backend and compared within the contract's tolerance.
 */

export { ELEMENTWISE, expectClose, REDUCTION, type Tolerance } from './harness.js';
export { type ConformanceOptions, runConformance } from './run.js';
