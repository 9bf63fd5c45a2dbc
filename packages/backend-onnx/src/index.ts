export {
  buildGptOnnx,
  type ExportGptOptions,
  exportGptToOnnx,
  GPT_ONNX_OPSET,
  type GptServingWeights,
  gptServingWeights,
  loadGptServingWeights,
} from './export-gpt.js';
export { createOnnxGenerator, type OnnxGeneratorOptions, OnnxGptGenerator, type OnnxKvCache } from './generator.js';
