import { Block, Embedding, Linear, op, recipes, setBackend, type Tensor, tidy, type Variable, valueAndGrads } from '@octet/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireDevice, emulatedDevice } from '../src/device.js';
import { createWebGpuBackend, type WebGpuData } from '../src/index.js';
import { webGpuAvailability, whenAvailable } from './device.js';

describe('createWebGpuBackend without an adapter', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('says how to get one', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    await expect(createWebGpuBackend()).rejects.toThrow(
      /no WebGPU adapter found.*apt-get install -y chromium libvulkan1.*VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/,
    );
  });
});

describe('an adapter emulated in software', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('is named by the software rasteriser in its info, or as a fallback adapter; real hardware is not', () => {
    // Dawn's SwiftShader adapter, as it describes itself.
    const swiftShader = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true };
    expect(emulatedDevice(swiftShader)).toBe('SwiftShader');
    expect(emulatedDevice({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe('llvmpipe');
    expect(emulatedDevice({ vendor: 'Mesa', architecture: '', description: 'Lavapipe' })).toBe('lavapipe');
    expect(emulatedDevice({ vendor: 'unknown', isFallbackAdapter: true })).toBe('a software fallback adapter');
    expect(
      emulatedDevice({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100', isFallbackAdapter: false }),
    ).toBeUndefined();
  });

  it('is reported by acquireDevice beside the description', async () => {
    const adapter = (info: object) => ({ info, requestDevice: async () => ({}) });
    vi.stubGlobal('navigator', {
      gpu: { requestAdapter: async () => adapter({ vendor: 'google', architecture: 'swiftshader', description: '' }) },
    });
    expect(await acquireDevice()).toMatchObject({ description: 'google / swiftshader', emulated: 'SwiftShader' });
    vi.stubGlobal('navigator', {
      gpu: { requestAdapter: async () => adapter({ vendor: 'nvidia', architecture: 'hopper', description: '' }) },
    });
    const real = await acquireDevice();
    expect(real.description).toBe('nvidia / hopper');
    expect(real.emulated).toBeUndefined();
  });
});

const availability = await webGpuAvailability();

whenAvailable(availability, 'webgpu storage and pipelines', (backend) => {
  describe('webgpu storage and pipelines', () => {
    it('stores uint8 tensors packed four to a u32, padded to whole words', async () => {
      setBackend(backend);
      const codes = Uint8Array.from([1, 2, 254, 255, 7]);
      const t = op.tensor(codes, [5]);
      expect((t.dataId as WebGpuData).byteLength).toBe(8);
      expect(await t.data()).toEqual(codes);
      t.dispose();
    });

    it('keys pipelines by kernel, rank, dtype and attributes, never by dims', async () => {
      setBackend(backend);
      const run = (M: number, K: number, N: number, transposeB = false) =>
        tidy(() => op.matMul(op.ones([M, K]), op.ones(transposeB ? [N, K] : [K, N]), false, transposeB));
      const first = run(3, 4, 5);
      const before = backend.pipelineCount;
      const second = run(7, 2, 9);
      expect(backend.pipelineCount).toBe(before);
      expect(await second.data()).toEqual(new Float32Array(63).fill(2));
      const third = run(7, 2, 9, true);
      expect(backend.pipelineCount).toBe(before + 1);
      for (const t of [first, second, third]) t.dispose();
    });

    it('a training loop allocates no new GPU buffers once it reaches a steady state', async () => {
      setBackend(backend);
      // One transformer block of core's layers between an embedding and a head (a one-layer GPT).
      const recipe = recipes.unitScaling();
      const model = {
        embedding: new Embedding(256, 32, { initStd: 1, seed: 1 }),
        block: new Block({ dim: 32, heads: 2, mlpHidden: 128, activation: 'gelu', recipe, seed: 2, layers: 1, ropeBase: 10000 }),
        head: new Linear(32, 256, { recipe, initStd: 1, seed: 3, alpha: 1 / Math.sqrt(32), highPrecision: true }),
        parameters() {
          return [this.embedding, this.block, this.head].flatMap((m) => m.parameters());
        },
        loss(ids: Tensor, targets: Tensor) {
          const logits = op.reshape(this.head.apply(this.block.apply(this.embedding.apply(ids))), [16, 256]);
          return op.mean(op.softmaxCrossEntropy(logits, op.reshape(targets, [16])));
        },
        dispose() {
          for (const m of [this.embedding, this.block, this.head]) m.dispose();
        },
      };
      const ids = op.tensor(
        new Int32Array(16).map((_, i) => (i * 31) % 256),
        [2, 8],
      );
      const targets = op.tensor(
        new Int32Array(16).map((_, i) => (i * 17 + 1) % 256),
        [2, 8],
      );
      const params: Variable[] = model.parameters();
      const step = async () => {
        const loss = tidy(() => {
          const { value, grads } = valueAndGrads(() => model.loss(ids, targets), params);
          params.forEach((p, i) => {
            p.assign(op.sub(p, op.mulScalar(grads[i]!, 0.01)));
          });
          return value;
        });
        const value = (await loss.data())[0]!;
        loss.dispose();
        return value;
      };
      await step();
      await step();
      const buffers = backend.buffersCreated;
      const bytes = backend.memoryBytes();
      const losses = [await step(), await step(), await step()];
      expect(backend.buffersCreated).toBe(buffers);
      expect(backend.memoryBytes()).toBe(bytes);
      expect(losses.every(Number.isFinite)).toBe(true);
      for (const t of [ids, targets]) t.dispose();
      model.dispose();
    });

    it('refuses storage of another backend by name', () => {
      expect(() => backend.disposeData({})).toThrow('disposeData: got storage of another backend; allowed: a webgpu tensor');
    });
  });
});
