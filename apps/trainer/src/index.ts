export { type CompareOptions, type CompareRow, compare, compareTable } from './compare.js';
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
