export { DEFAULTS, parseTrainArgs } from './options.js';
export {
  BACKENDS,
  defaultLearningRate,
  evaluate,
  firstNonFinite,
  generate,
  type StepInfo,
  type TrainOptions,
  type TrainSummary,
  train,
  unigramCrossEntropy,
} from './train.js';
export { compare, compareTable, type CompareOptions, type CompareRow } from './compare.js';
