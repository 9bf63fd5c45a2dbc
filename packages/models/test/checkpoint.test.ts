import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OctetArgumentError } from '@octet/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FILES,
  type Checkpoint,
  loadCheckpoint,
  type RawTensor,
  rawTensorFloat32,
  rawTensorFrom,
  saveCheckpoint,
  writeFileAtomic,
} from '../src/checkpoint/index.js';
import { ByteTokenizer } from '../src/tokenizer/index.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'octet-checkpoint-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A small but complete checkpoint whose weights are all `value`, so two versions are easy to tell apart. */
function checkpointWith(value: number): Checkpoint {
  return {
    tensors: {
      'blocks.0.mlp.weight': rawTensorFrom('F8_E4M3', [2, 4], new Uint8Array(8).fill(0x38)),
      'blocks.0.mlp.weight_scale_inv': rawTensorFrom('F32', [1], Float32Array.from([value])),
      'embedding.weight': rawTensorFrom('F32', [4, 2], new Float32Array(8).fill(value)),
    },
    metadata: { format: 'octet' },
    config: { layers: 1, width: 2, version: value },
    tokenizer: new ByteTokenizer().toJSON(),
    trainingState: {
      tensors: { 'adam.m.embedding.weight': rawTensorFrom('F32', [4, 2], new Float32Array(8).fill(-value)) },
      json: { step: value * 100, sampler: { seed: 1, step: value * 100 } },
    },
  };
}

async function listing(directory: string): Promise<string[]> {
  return (await readdir(directory)).sort();
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('writes the documented files and loads back everything', async () => {
    const directory = join(root, 'run', 'checkpoint');
    const saved = checkpointWith(1);
    await saveCheckpoint(directory, saved);
    expect(await listing(directory)).toEqual([
      'config.json',
      'manifest.json',
      'model.safetensors',
      'tokenizer.json',
      'training_state.json',
      'training_state.safetensors',
    ]);
    expect(await listing(join(root, 'run'))).toEqual(['checkpoint']); // no temporary folders left

    const loaded = await loadCheckpoint(directory);
    expect(loaded.config).toEqual(saved.config);
    expect(loaded.metadata).toEqual({ format: 'octet' });
    expect(loaded.tokenizer).toEqual(saved.tokenizer);
    expect(loaded.trainingState?.json).toEqual(saved.trainingState?.json);
    expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(saved.tensors).sort());
    expect(Array.from(rawTensorFloat32(loaded.tensors['embedding.weight']))).toEqual(new Array(8).fill(1));
    expect(loaded.tensors['blocks.0.mlp.weight']).toMatchObject({ dtype: 'F8_E4M3', shape: [2, 4] });
    const moment = loaded.trainingState?.tensors?.['adam.m.embedding.weight'];
    expect(moment).toBeDefined();
    expect(Array.from(rawTensorFloat32(moment as RawTensor))).toEqual(new Array(8).fill(-1));

    const manifest = JSON.parse(await readFile(join(directory, CHECKPOINT_FILES.manifest), 'utf8'));
    expect(manifest.format).toBe('octet-checkpoint');
    expect(manifest.files['model.safetensors'].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes only the files it is given', async () => {
    const directory = join(root, 'weights-only');
    await saveCheckpoint(directory, { tensors: checkpointWith(2).tensors, config: { width: 2 } });
    expect(await listing(directory)).toEqual(['config.json', 'manifest.json', 'model.safetensors']);
    const loaded = await loadCheckpoint(directory);
    expect(loaded.tokenizer).toBeUndefined();
    expect(loaded.trainingState).toBeUndefined();
  });

  it('replaces an existing checkpoint as a whole', async () => {
    const directory = join(root, 'checkpoint');
    await saveCheckpoint(directory, checkpointWith(1));
    await saveCheckpoint(directory, { tensors: checkpointWith(2).tensors, config: { version: 2 } });
    const loaded = await loadCheckpoint(directory);
    expect(loaded.config).toEqual({ version: 2 });
    expect(loaded.trainingState).toBeUndefined(); // no file of the old checkpoint survives
    expect(await listing(root)).toEqual(['checkpoint']);
  });

  it('catches a flipped byte in any file with an error naming the file', async () => {
    const directory = join(root, 'checkpoint');
    await saveCheckpoint(directory, checkpointWith(1));
    for (const name of ['model.safetensors', 'config.json', 'tokenizer.json', 'training_state.safetensors', 'training_state.json']) {
      const path = join(directory, name);
      const original = await readFile(path);
      const corrupted = Buffer.from(original);
      corrupted[Math.floor(corrupted.length / 2)] ^= 0x01;
      await writeFile(path, corrupted);
      await expect(loadCheckpoint(directory)).rejects.toThrow(
        new RegExp(`${name}: got "a file with sha256 [0-9a-f]{64}"; allowed: sha256`),
      );
      await writeFile(path, original);
    }
    await expect(loadCheckpoint(directory)).resolves.toBeDefined();
  });

  it('catches truncated and missing files', async () => {
    const directory = join(root, 'checkpoint');
    await saveCheckpoint(directory, checkpointWith(1));
    const modelPath = join(directory, CHECKPOINT_FILES.model);
    const model = await readFile(modelPath);
    for (const length of [0, 7, 100, model.length - 1]) {
      await writeFile(modelPath, model.subarray(0, length));
      await expect(loadCheckpoint(directory)).rejects.toThrow(
        new RegExp(`model.safetensors: got "${length} bytes"; allowed: ${model.length} bytes, as recorded in manifest.json`),
      );
    }
    await rm(modelPath);
    await expect(loadCheckpoint(directory)).rejects.toThrow(/model.safetensors: got "no readable file \(ENOENT\)"/);
    await rm(join(directory, CHECKPOINT_FILES.manifest));
    await expect(loadCheckpoint(directory)).rejects.toThrow(/checkpoint directory: .*with manifest.json \(ENOENT\)/);
  });

  it('names the file when a file matches its checksum but is not valid', async () => {
    const directory = join(root, 'checkpoint');
    await saveCheckpoint(directory, checkpointWith(1));
    // Rewrite the manifest so that a broken config.json passes the checksum: parsing must still fail clearly.
    const manifestPath = join(directory, CHECKPOINT_FILES.manifest);
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    const broken = Buffer.from('{"layers": 1,');
    manifest.files['config.json'] = { bytes: broken.length, sha256: createHash('sha256').update(broken).digest('hex') };
    await writeFile(join(directory, 'config.json'), broken);
    await writeFile(manifestPath, JSON.stringify(manifest));
    await expect(loadCheckpoint(directory)).rejects.toThrow(/config.json: content: got "text that is not UTF-8 JSON/);

    await writeFile(manifestPath, '{"format": "something else"}');
    await expect(loadCheckpoint(directory)).rejects.toThrow(/manifest.json: format and version/);
  });

  it('keeps the previous checkpoint intact when a save fails half-way', async () => {
    const directory = join(root, 'checkpoint');
    await saveCheckpoint(directory, checkpointWith(1));
    const interrupted = checkpointWith(2);
    // model.safetensors and config.json are already written when serialising the training state throws.
    interrupted.trainingState = {
      json: {
        toJSON() {
          throw new Error('disk full');
        },
      },
    };
    await expect(saveCheckpoint(directory, interrupted)).rejects.toThrow('disk full');

    const loaded = await loadCheckpoint(directory);
    expect(loaded.config).toEqual(checkpointWith(1).config);
    expect(Array.from(rawTensorFloat32(loaded.tensors['embedding.weight']))).toEqual(new Array(8).fill(1));
    expect(await listing(root)).toEqual(['checkpoint']); // the half-written folder was removed
  });

  it('recovers when a save died between moving the old checkpoint aside and moving the new one in', async () => {
    const directory = join(root, 'checkpoint');
    await saveCheckpoint(directory, checkpointWith(1));
    await rename(directory, `${directory}.previous`);

    const loaded = await loadCheckpoint(directory);
    expect(loaded.config).toEqual(checkpointWith(1).config);

    await saveCheckpoint(directory, checkpointWith(3));
    expect((await loadCheckpoint(directory)).config).toEqual(checkpointWith(3).config);
    expect(await listing(root)).toEqual(['checkpoint']);
  });

  it('refuses to replace a folder that is not a checkpoint', async () => {
    const directory = join(root, 'notes');
    await mkdir(directory);
    await writeFile(join(directory, 'todo.txt'), 'keep me');
    await expect(saveCheckpoint(directory, checkpointWith(1))).rejects.toThrow(OctetArgumentError);
    expect(await readFile(join(directory, 'todo.txt'), 'utf8')).toBe('keep me');
  });

  it('rejects a config that is not a JSON object', async () => {
    await expect(saveCheckpoint(join(root, 'c'), { tensors: {}, config: [1, 2] })).rejects.toThrow(/checkpoint.config/);
  });
});

describe('writeFileAtomic', () => {
  it('creates or replaces a file and leaves no temporary file behind', async () => {
    const path = join(root, 'state.bin');
    await writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    await writeFileAtomic(path, 'replaced');
    expect(await readFile(path, 'utf8')).toBe('replaced');
    expect(await listing(root)).toEqual(['state.bin']);
  });

  it('leaves the old file when the write fails', async () => {
    const path = join(root, 'state.bin');
    await writeFileAtomic(path, 'old');
    const notBytes = {} as Uint8Array;
    await expect(writeFileAtomic(path, notBytes)).rejects.toThrow(TypeError);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await listing(root)).toEqual(['state.bin']);
  });
});
