import { GROUP_INDEX, type Program } from '../program.js';
import { REDUCE_WORKGROUP, WORKGROUP_REDUCE_WGSL, workgroupReduce } from '../shaders/workgroup-reduce.wgsl.js';

/**
 * One workgroup per row of the last axis: max, then the sum of exp(x − max), then the normalised
 * values. Causal rows see keys 0..q + (Tk − Tq) (q = the row's query index); the rest are 0.
 */
export function softmaxProgram(causal: boolean): Program {
  return {
    key: `Softmax:${causal ? 'causal' : 'full'}`,
    inputs: [{ name: 'xs', type: 'f32' }],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'rows', type: 'u32' },
      { name: 'width', type: 'u32' },
      { name: 'queries', type: 'u32' },
      { name: 'negInf', type: 'f32' },
    ],
    workgroupSize: [REDUCE_WORKGROUP],
    helpers: WORKGROUP_REDUCE_WGSL,
    main: `  ${GROUP_INDEX}
  let start = group * u.width;
  let visible = ${causal ? 'min(u.width, group % u.queries + u.width - u.queries + 1u)' : 'u.width'};
  var localMax = u.negInf;
  for (var j = lid.x; j < visible; j += ${REDUCE_WORKGROUP}u) { localMax = combine_max(localMax, xs[start + j]); }
${workgroupReduce('max', 'localMax', 'rowMax')}
  var localSum = 0.0;
  for (var j = lid.x; j < visible; j += ${REDUCE_WORKGROUP}u) { localSum += exp(xs[start + j] - rowMax); }
${workgroupReduce('sum', 'localSum', 'total')}
  let inv = 1.0 / total;
  if (group < u.rows) {
    for (var j = lid.x; j < u.width; j += ${REDUCE_WORKGROUP}u) {
      out[start + j] = select(0.0, exp(xs[start + j] - rowMax) * inv, j < visible);
    }
  }`,
  };
}
