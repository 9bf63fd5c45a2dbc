import { OctetArgumentError } from '@octet/core';
import { describe, expect, it } from 'vitest';
import { createTfjsBackend } from '../src/index.js';

// This file runs in its own process, so the tfjs engine is not chosen yet when it starts. The tests
// run in order: failed starts first (they leave the choice open), then the one that picks it.
const TFJS_NODE_PRESENT = await Promise.any(
  ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].map((specifier) => import(/* @vite-ignore */ specifier)),
).then(
  () => true,
  () => false,
);

describe('engine selection', () => {
  it('rejects an unknown engine, naming the option and the allowed values', async () => {
    const attempt = createTfjsBackend({ engine: 'cuda' as never });
    await expect(attempt).rejects.toBeInstanceOf(OctetArgumentError);
    await expect(attempt).rejects.toThrow(`engine: got "cuda"; allowed: 'auto', 'tensorflow', 'wasm', 'cpu', 'webgpu'`);
  });

  it.skipIf(TFJS_NODE_PRESENT)("'tensorflow' without tfjs-node(-gpu) says what to install", async () => {
    await expect(createTfjsBackend({ engine: 'tensorflow' })).rejects.toThrow(
      /engine 'tensorflow' needs @tensorflow\/tfjs-node-gpu \(CUDA\) or @tensorflow\/tfjs-node \(CPU\).*pnpm add @tensorflow\/tfjs-node-gpu.*CUDA 11\.2 and cuDNN 8\.1/,
    );
  });

  it("'webgpu' without @tensorflow/tfjs-backend-webgpu says what to install", async () => {
    await expect(createTfjsBackend({ engine: 'webgpu' })).rejects.toThrow(
      /engine 'webgpu' needs @tensorflow\/tfjs-backend-webgpu.*pnpm add/,
    );
  });

  it.skipIf(TFJS_NODE_PRESENT)("'auto' falls back to wasm when tfjs-node is absent, and says why", async () => {
    const backend = await createTfjsBackend();
    expect(backend.engine).toBe('wasm');
    expect(backend.engineReason).toMatch(
      /^auto: @tensorflow\/tfjs-node-gpu does not load: .*; @tensorflow\/tfjs-node does not load: .*; wasm runs$/,
    );
  });

  it.skipIf(TFJS_NODE_PRESENT)('keeps one engine per process: the same engine or auto is fine, another is an error', async () => {
    expect((await createTfjsBackend({ engine: 'wasm' })).engine).toBe('wasm');
    expect((await createTfjsBackend({ engine: 'auto' })).engine).toBe('wasm');
    await expect(createTfjsBackend({ engine: 'cpu' })).rejects.toThrow(
      /engine: got "cpu"; allowed: 'wasm' or 'auto': this process already runs tfjs on 'wasm'/,
    );
  });
});
