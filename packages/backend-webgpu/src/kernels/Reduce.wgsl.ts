import type { ReduceOp } from '@octet/core';
import { GROUP_INDEX, type Program } from '../program.js';
import { REDUCE_WORKGROUP, WORKGROUP_REDUCE_WGSL, workgroupReduce } from '../shaders/workgroup-reduce.wgsl.js';

/** Splits `index` into coordinates of the uniform shape `<prefix>Shape{d}` and sums them times `<prefix>Stride{d}`. */
function offsetOf(index: string, prefix: string, rank: number): string {
  const lines = [`  var ${prefix}Rest = ${index};`, `  var ${prefix}Offset = 0u;`];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(
      `  ${prefix}Offset += (${prefix}Rest % u.${prefix}Shape${d}) * u.${prefix}Stride${d}; ${prefix}Rest = ${prefix}Rest / u.${prefix}Shape${d};`,
    );
  }
  return lines.join('\n');
}

/**
 * One workgroup per output element: the kept axes locate the run, the reduced axes are walked by
 * the workgroup's threads, and a tree combines their partial results.
 */
export function reduceProgram(op: ReduceOp, keptRank: number, reducedRank: number): Program {
  const kind = op === 'sum' ? 'sum' : 'max';
  const axisFields = (prefix: string, rank: number) =>
    [...Array(rank).keys()].flatMap((d) => [
      { name: `${prefix}Shape${d}`, type: 'u32' as const },
      { name: `${prefix}Stride${d}`, type: 'u32' as const },
    ]);
  return {
    key: `Reduce:${op}:kept${keptRank}:reduced${reducedRank}`,
    inputs: [{ name: 'xs', type: 'f32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'outCount', type: 'u32' },
      { name: 'length', type: 'u32' },
      { name: 'init', type: 'f32' },
      ...axisFields('kept', keptRank),
      ...axisFields('reduced', reducedRank),
    ],
    workgroupSize: [REDUCE_WORKGROUP],
    helpers: WORKGROUP_REDUCE_WGSL,
    main: `  ${GROUP_INDEX}
${offsetOf('group', 'kept', keptRank)}
  var acc = u.init;
  for (var j = lid.x; j < u.length; j += ${REDUCE_WORKGROUP}u) {
${offsetOf('j', 'reduced', reducedRank)}
    acc = combine_${kind}(acc, ${op === 'amax' ? 'abs' : ''}(xs[keptOffset + reducedOffset]));
  }
${workgroupReduce(kind, 'acc', 'total')}
  if (lid.x == 0u && group < u.outCount) { out[group] = total; }`,
  };
}
