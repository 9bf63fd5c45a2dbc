import { GROUP_INDEX, type Program } from '../program.js';
import { REDUCE_WORKGROUP, WORKGROUP_REDUCE_WGSL, workgroupReduce } from '../shaders/workgroup-reduce.wgsl.js';

/** One workgroup per row: logsumexp(row) − row[target]. */
export function softmaxCrossEntropyProgram(): Program {
  return {
    key: 'SoftmaxCrossEntropy',
    inputs: [
      { name: 'logits', type: 'f32' },
      { name: 'targets', type: 'i32' },
    ],
    output: { name: 'out', type: 'f32' },
    uniforms: [
      { name: 'rows', type: 'u32' },
      { name: 'vocab', type: 'u32' },
      { name: 'negInf', type: 'f32' },
    ],
    workgroupSize: [REDUCE_WORKGROUP],
    helpers: WORKGROUP_REDUCE_WGSL,
    main: `  ${GROUP_INDEX}
  let start = group * u.vocab;
  var localMax = u.negInf;
  for (var j = lid.x; j < u.vocab; j += ${REDUCE_WORKGROUP}u) { localMax = combine_max(localMax, logits[start + j]); }
${workgroupReduce('max', 'localMax', 'rowMax')}
  var localSum = 0.0;
  for (var j = lid.x; j < u.vocab; j += ${REDUCE_WORKGROUP}u) { localSum += exp(logits[start + j] - rowMax); }
${workgroupReduce('sum', 'localSum', 'total')}
  if (lid.x == 0u && group < u.rows) {
    let picked = u32(clamp(targets[group], 0, i32(u.vocab) - 1));
    out[group] = log(total) + rowMax - logits[start + picked];
  }`,
  };
}
