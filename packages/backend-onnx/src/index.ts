export { exportToOnnx, ONNX_OPSET, type OnnxExportOptions, type OnnxGraphSource } from './export.js';
export {
  createOnnxGenerator,
  type OnnxDecoderConfig,
  type OnnxGeneratorOptions,
  OnnxGptGenerator,
  type OnnxGptSource,
  type OnnxKvCache,
} from './generator.js';
