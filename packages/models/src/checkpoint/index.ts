export { writeFileAtomic } from './atomic.js';
export { CHECKPOINT_FILES, type Checkpoint, loadCheckpoint, saveCheckpoint, type TrainingState } from './checkpoint.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  type RawTensor,
  type RawTensorValues,
  rawTensorFloat32,
  rawTensorFrom,
  rawTensorValues,
  SAFETENSORS_DTYPE_SIZES,
  type Safetensors,
  type SafetensorsDtype,
} from './safetensors.js';
