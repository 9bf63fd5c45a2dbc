/**
 * Tree reductions across one workgroup of `REDUCE_WORKGROUP` threads: each thread folds a strided
 * share of a row, then halves are combined through workgroup memory.
 */
import { IS_NAN_WGSL } from './nan.wgsl.js';

export const REDUCE_WORKGROUP = 64;

/** Module-scope declarations: the scratch array and the combine functions. */
export const WORKGROUP_REDUCE_WGSL = `
var<workgroup> partial: array<f32, ${REDUCE_WORKGROUP}>;
fn combine_sum(a: f32, b: f32) -> f32 { return a + b; }
${IS_NAN_WGSL}
// The larger, or NaN if either is NaN (as the reference's max).
fn combine_max(a: f32, b: f32) -> f32 { return select(a, b, b > a || is_nan(b)); }
`;

/**
 * WGSL statements: combines every thread's `value` with `combine_<kind>`; afterwards `result` holds
 * the workgroup's total in every thread. Must run in uniform control flow.
 */
export function workgroupReduce(kind: 'sum' | 'max', value: string, result: string): string {
  return `  partial[lid.x] = ${value};
  workgroupBarrier();
  for (var s = ${REDUCE_WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { partial[lid.x] = combine_${kind}(partial[lid.x], partial[lid.x + s]); }
    workgroupBarrier();
  }
  let ${result} = partial[0];
  workgroupBarrier();`;
}
