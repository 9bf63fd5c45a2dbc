export * from './checkpoint/index.js';
export * from './data/index.js';
export { GPT_PRESETS, Gpt, type GptConfig, type GptPresetName, gptConfig } from './gpt.js';
export { type GptTrainingExtras, type LoadedGpt, loadGptCheckpoint, saveGptCheckpoint } from './gpt-checkpoint.js';
export * from './tokenizer/index.js';
