export { DEFAULTS, parseTrainArgs } from './options.js';
export {
  BACKENDS,
  defaultLearningRate,
  evaluate,
  generate,
  type StepInfo,
  type TrainOptions,
  type TrainSummary,
  train,
  unigramCrossEntropy,
} from './train.js';
