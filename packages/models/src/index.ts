export * from './checkpoint/index.js';
export * from './data/index.js';
export {
  GPT_PRESETS,
  Gpt,
  type GptCache,
  type GptConfig,
  type GptOptions,
  type GptPresetName,
  gptConfig,
  RECOMPUTE_MODES,
  type Recompute,
} from './gpt.js';
export { type GptTrainingExtras, type LoadedGpt, loadGptCheckpoint, saveGptCheckpoint } from './gpt-checkpoint.js';
export { type GptDecodeResult, GptDecoder, type GptKvCache, type GptStepItem } from './gpt-decode.js';
export { argmax, type SamplingOptions, sampleToken } from './sampling.js';
export * from './tokenizer/index.js';
