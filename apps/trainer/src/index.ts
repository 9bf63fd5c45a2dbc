export { BACKENDS, type BackendName, type ChosenBackend, createTrainBackend } from './backends.js';
export { type CompareOptions, type CompareRow, compare, compareTable } from './compare.js';
export {
  defaultLearningRate,
  FP8_ACTIVATION_RECIPES,
  RUN_PRESETS,
  type RunConfig,
  type RunConfigInput,
  RunConfigSchema,
  readConfigFile,
  resolveRunConfig,
  validateRunConfig,
} from './config.js';
export { evaluate, firstNonFinite, unigramCrossEntropy } from './evaluate.js';
export { type HealthWarning, healthWarnings, summariseHealthWarnings } from './health.js';
export type { MemoryByComponent, PeakBytes } from './memory.js';
export { checkArgs, type ParsedTrainArgs, parseTrainArgs, RUN_FLAGS, SUBCOMMANDS } from './options.js';
export { loadRuns, type RunData, renderReport, writeReport } from './report.js';
export { listCheckpoints, type MetricsRecord, readMetrics } from './run-dir.js';
export { generate } from './sample.js';
export { type SweepOptions, type SweepResult, sweep, sweepTable } from './sweep.js';
export { type StepInfo, TrainingInterrupted, type TrainOptions, type TrainSummary, train } from './train.js';
