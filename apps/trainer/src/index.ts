export { BACKENDS, type BackendName, createTrainBackend } from './backends.js';
export { type CompareOptions, type CompareRow, compare, compareTable } from './compare.js';
export {
  defaultLearningRate,
  RUN_PRESETS,
  type RunConfig,
  type RunConfigInput,
  RunConfigSchema,
  readConfigFile,
  resolveRunConfig,
  validateRunConfig,
} from './config.js';
export { type ParsedTrainArgs, parseTrainArgs } from './options.js';
export { loadRuns, type RunData, renderReport, writeReport } from './report.js';
export { type SweepOptions, type SweepResult, sweep, sweepTable } from './sweep.js';
export {
  evaluate,
  firstNonFinite,
  generate,
  type HealthWarning,
  healthWarnings,
  listCheckpoints,
  type MemoryByComponent,
  type MetricsRecord,
  type PeakBytes,
  readMetrics,
  type StepInfo,
  TrainingInterrupted,
  type TrainOptions,
  type TrainSummary,
  train,
  unigramCrossEntropy,
} from './train.js';
