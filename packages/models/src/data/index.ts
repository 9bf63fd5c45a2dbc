export { BROWN_VALIDATION_STRIDE, type BrownCorpus, brownCorpusDirectory, brownToPlainText, loadBrown } from './brown.js';
export {
  type BatchShape,
  packTokenIds,
  type SamplerState,
  sequentialBatches,
  sequentialWindowCount,
  type TokenBatch,
  TokenDataset,
  type TokenIds,
} from './dataset.js';
