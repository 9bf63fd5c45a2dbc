import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { check, OctetArgumentError } from '@octet/core';
import { syncDirectory, temporarySibling, writeFileDurable } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from './safetensors.js';

// A checkpoint is a folder:
//   model.safetensors            weights (FP8 weights as F8_E4M3/F8_E5M2 next to their F32 scales)
//   config.json                  the model configuration
//   tokenizer.json               optional, a Hugging Face tokenizer.json
//   training_state.safetensors   optional, optimizer state and other tensors needed to resume
//   training_state.json          optional, step, data position, RNG seeds...
//   manifest.json                written last: size and sha256 of every other file

export const CHECKPOINT_FILES = {
  model: 'model.safetensors',
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  trainingTensors: 'training_state.safetensors',
  trainingJson: 'training_state.json',
  manifest: 'manifest.json',
} as const;

const MANIFEST_FORMAT = 'octet-checkpoint';
const MANIFEST_VERSION = 1;

export interface TrainingState {
  /** E.g. optimizer moments, saved as training_state.safetensors. */
  tensors?: Record<string, RawTensor>;
  /** E.g. { step, sampler: dataset.state() }, saved as training_state.json. */
  json?: unknown;
}

export interface Checkpoint {
  tensors: Record<string, RawTensor>;
  /** The `__metadata__` of model.safetensors ({} when loaded from a file without it). */
  metadata?: Record<string, string>;
  /** Any JSON object; saved as config.json. */
  config: object;
  /** A tokenizer.json document, e.g. tokenizer.toJSON(). */
  tokenizer?: object;
  trainingState?: TrainingState;
}

interface ManifestEntry {
  bytes: number;
  sha256: string;
}

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  files: Record<string, ManifestEntry>;
}

/** Where the previous checkpoint waits while the new one is renamed into place. */
function previousCheckpointPath(directory: string): string {
  return `${directory}.previous`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Saves a checkpoint to `directory`, replacing any checkpoint there as a whole. Every file is written
 * to a hidden sibling folder and flushed, the manifest last; only then does the old folder move aside
 * to `<directory>.previous` and the new one take its name, and the old one is deleted. If anything
 * fails or the process dies, `directory` (or, between the two renames, `<directory>.previous`, which
 * loadCheckpoint and the next save fall back to) still holds the previous complete checkpoint.
 * Refuses to replace a non-empty folder that is not a checkpoint. Not safe for two concurrent saves
 * to the same directory.
 */
export async function saveCheckpoint(directory: string, checkpoint: Checkpoint): Promise<void> {
  const target = resolve(directory);
  check(
    typeof checkpoint.config === 'object' && checkpoint.config !== null && !Array.isArray(checkpoint.config),
    'checkpoint.config',
    checkpoint.config,
    'a JSON object',
  );
  await mkdir(dirname(target), { recursive: true });
  await recoverInterruptedSave(target);
  await ensureReplaceable(target);

  const staging = temporarySibling(target, 'saving');
  await mkdir(staging);
  try {
    const files: Record<string, ManifestEntry> = {};
    const write = async (name: string, content: Uint8Array | string) => {
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      await writeFileDurable(join(staging, name), bytes);
      files[name] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
    };
    // Each file is serialised just before it is written, so a failure can happen with some files already on disk.
    await write(CHECKPOINT_FILES.model, encodeSafetensors(checkpoint.tensors, checkpoint.metadata));
    await write(CHECKPOINT_FILES.config, jsonText(checkpoint.config));
    if (checkpoint.tokenizer !== undefined) await write(CHECKPOINT_FILES.tokenizer, jsonText(checkpoint.tokenizer));
    const training = checkpoint.trainingState;
    if (training?.tensors !== undefined) await write(CHECKPOINT_FILES.trainingTensors, encodeSafetensors(training.tensors));
    if (training?.json !== undefined) await write(CHECKPOINT_FILES.trainingJson, jsonText(training.json));
    const manifest: Manifest = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, files };
    await write(CHECKPOINT_FILES.manifest, jsonText(manifest));
    await syncDirectory(staging);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }

  const previous = previousCheckpointPath(target);
  const hadPrevious = await exists(target);
  if (hadPrevious) {
    await rm(previous, { recursive: true, force: true });
    await rename(target, previous);
  }
  try {
    await rename(staging, target);
  } catch (error) {
    if (hadPrevious) await rename(previous, target);
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await syncDirectory(dirname(target));
  await rm(previous, { recursive: true, force: true });
}

/** A save that died between its two renames left only `<directory>.previous`: put it back. */
async function recoverInterruptedSave(target: string): Promise<void> {
  const previous = previousCheckpointPath(target);
  if (!(await exists(target)) && (await exists(join(previous, CHECKPOINT_FILES.manifest)))) {
    await rename(previous, target);
  }
}

/** Replacing deletes the old folder, so it must be empty or a checkpoint, never somebody's other files. */
async function ensureReplaceable(target: string): Promise<void> {
  if (!(await exists(target))) return;
  const entries = await readdir(target).catch(() => undefined);
  check(entries !== undefined, 'checkpoint directory', target, 'a folder (or a path that does not exist yet)');
  check(
    entries.length === 0 || entries.includes(CHECKPOINT_FILES.manifest),
    'checkpoint directory',
    target,
    `an empty folder or an existing checkpoint (one with ${CHECKPOINT_FILES.manifest}); refusing to replace other files`,
  );
}

/** Rethrows a parsing error with the file's path in front of the field it names. */
function inFile<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof OctetArgumentError) throw new OctetArgumentError(`${path}: ${error.argument}`, error.given, error.allowed);
    throw error;
  }
}

function parseJson(path: string, bytes: Uint8Array): unknown {
  return inFile(path, () => {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new OctetArgumentError('content', `text that is not UTF-8 JSON (${(error as Error).message})`, 'a JSON document');
    }
  });
}

function parseManifest(path: string, bytes: Uint8Array): Manifest {
  const manifest = parseJson(path, bytes) as Partial<Manifest> | null;
  return inFile(path, () => {
    check(
      manifest?.format === MANIFEST_FORMAT && manifest.version === MANIFEST_VERSION,
      'format and version',
      manifest,
      `{ "format": "${MANIFEST_FORMAT}", "version": ${MANIFEST_VERSION}, ... }`,
    );
    const files = manifest.files;
    check(typeof files === 'object' && files !== null, 'files', files, 'an object of { bytes, sha256 } by file name');
    for (const [name, entry] of Object.entries(files)) {
      check(basename(name) === name && name !== CHECKPOINT_FILES.manifest, 'files', name, 'plain file names of this folder');
      check(
        Number.isSafeInteger(entry?.bytes) && typeof entry?.sha256 === 'string',
        `files[${JSON.stringify(name)}]`,
        entry,
        '{ bytes: integer, sha256: hex string }',
      );
    }
    check(
      CHECKPOINT_FILES.model in files && CHECKPOINT_FILES.config in files,
      'files',
      Object.keys(files),
      `a list including ${CHECKPOINT_FILES.model} and ${CHECKPOINT_FILES.config}`,
    );
    return manifest as Manifest;
  });
}

/**
 * Loads and verifies a checkpoint saved by saveCheckpoint: every file listed in manifest.json must
 * exist with the recorded size and sha256, and then parse. A missing, truncated or altered file
 * throws an error naming it; weights are never returned from a file that failed a check. If only
 * `<directory>.previous` exists (a save died between its renames), that checkpoint is loaded.
 */
export async function loadCheckpoint(directory: string): Promise<Checkpoint> {
  let folder = resolve(directory);
  if (!(await exists(folder)) && (await exists(join(previousCheckpointPath(folder), CHECKPOINT_FILES.manifest)))) {
    folder = previousCheckpointPath(folder);
  }
  const manifestPath = join(folder, CHECKPOINT_FILES.manifest);
  const manifestBytes = await readFile(manifestPath).catch((error: NodeJS.ErrnoException) => {
    throw new OctetArgumentError(
      'checkpoint directory',
      folder,
      `a folder written by saveCheckpoint, with ${CHECKPOINT_FILES.manifest} (${error.code ?? error.message})`,
    );
  });
  const manifest = parseManifest(manifestPath, manifestBytes);

  const contents = new Map<string, Uint8Array>();
  for (const [name, expected] of Object.entries(manifest.files)) {
    const path = join(folder, name);
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new OctetArgumentError(
        path,
        `no readable file (${error.code ?? error.message})`,
        `the file listed in ${CHECKPOINT_FILES.manifest}`,
      );
    });
    check(
      bytes.byteLength === expected.bytes,
      path,
      `${bytes.byteLength} bytes`,
      `${expected.bytes} bytes, as recorded in ${CHECKPOINT_FILES.manifest} (the file is truncated or was changed)`,
    );
    const digest = sha256(bytes);
    check(
      digest === expected.sha256,
      path,
      `a file with sha256 ${digest}`,
      `sha256 ${expected.sha256}, as recorded in ${CHECKPOINT_FILES.manifest} (the file is corrupt or was changed)`,
    );
    contents.set(name, bytes);
  }

  const pathOf = (name: string) => join(folder, name);
  const modelBytes = contents.get(CHECKPOINT_FILES.model) as Uint8Array;
  const model = inFile(pathOf(CHECKPOINT_FILES.model), () => decodeSafetensors(modelBytes));
  const config = parseJson(pathOf(CHECKPOINT_FILES.config), contents.get(CHECKPOINT_FILES.config) as Uint8Array);
  check(typeof config === 'object' && config !== null && !Array.isArray(config), pathOf(CHECKPOINT_FILES.config), config, 'a JSON object');
  const checkpoint: Checkpoint = { tensors: model.tensors, metadata: model.metadata, config };

  const tokenizerBytes = contents.get(CHECKPOINT_FILES.tokenizer);
  if (tokenizerBytes !== undefined) {
    checkpoint.tokenizer = parseJson(pathOf(CHECKPOINT_FILES.tokenizer), tokenizerBytes) as object;
  }
  const trainingTensorBytes = contents.get(CHECKPOINT_FILES.trainingTensors);
  const trainingJsonBytes = contents.get(CHECKPOINT_FILES.trainingJson);
  if (trainingTensorBytes !== undefined || trainingJsonBytes !== undefined) {
    const training: TrainingState = {};
    if (trainingTensorBytes !== undefined) {
      training.tensors = inFile(pathOf(CHECKPOINT_FILES.trainingTensors), () => decodeSafetensors(trainingTensorBytes)).tensors;
    }
    if (trainingJsonBytes !== undefined) training.json = parseJson(pathOf(CHECKPOINT_FILES.trainingJson), trainingJsonBytes);
    checkpoint.trainingState = training;
  }
  return checkpoint;
}
