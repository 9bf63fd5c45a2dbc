import { createCpuBackend } from '@octet/backend-cpu';
import { type GraphEmitter, Linear, Module, memory, op, RMSNorm, recipeByName, setBackend, tidy } from '@octet/core';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportToOnnx, ONNX_OPSET, type OnnxGraphSource } from '../src/index.js';

const { onnx } = onnxProto;
beforeAll(() => setBackend(createCpuBackend({ threads: 1 })));

/** norm → Linear, a module that writes its own graph through its modules' `emit`. */
class NormLinear extends Module implements OnnxGraphSource {
  readonly norm: RMSNorm;
  readonly linear: Linear;

  constructor(recipe: string) {
    super();
    this.norm = this.addModule('norm', new RMSNorm(16));
    this.linear = this.addModule('proj', new Linear(16, 8, { recipe: recipeByName(recipe), initStd: 1, seed: 3, alpha: 0.25 }));
    this.linear.training = false;
    this.nameVariables();
  }

  emitGraph(g: GraphEmitter): { name: string } {
    const x = g.input('x', 'float', ['rows', 16]);
    g.node('Identity', [this.linear.emit(g, this.norm.emit(g, x))], {}, 'y');
    g.output('y', 'float', ['rows', 8]);
    return { name: 'norm-linear' };
  }
}

describe('exportToOnnx', () => {
  for (const recipe of ['unitScaling', 'delayed', 'current', 'f32'] as const) {
    it(`runs a module's emitted graph to the module's own output on ONNX Runtime (${recipe})`, async () => {
      const module = new NormLinear(recipe);
      const x = Float32Array.from({ length: 5 * 16 }, (_, i) => Math.sin(i * 0.7) * 3);
      const y = tidy(() => module.linear.apply(module.norm.apply(op.tensor(x, [5, 16]))));
      const expected = (await y.data()) as Float32Array;
      y.dispose();
      const bytes = await exportToOnnx(module);
      const session = await ort.InferenceSession.create(bytes);
      const actual = (await session.run({ x: new ort.Tensor('float32', x, [5, 16]) })).y!.data as Float32Array;
      const worst = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - actual[i]!)), 0);
      expect(worst).toBeLessThan(1e-5 * expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
      await session.release();

      const model = onnx.ModelProto.decode(bytes);
      expect(Number(model.opsetImport[0]!.version)).toBe(ONNX_OPSET);
      const initializers = (model.graph!.initializer as InstanceType<typeof onnx.TensorProto>[]).map((t) => [t.name, t.dataType]);
      // FP8 recipes keep the weight's codes (FLOAT8E4M3FN = 17); f32 models keep f32 weights (FLOAT = 1).
      expect(initializers).toContainEqual(['proj.weight.T', recipe === 'f32' ? 1 : 17]);
      expect(initializers).toContainEqual(['norm.gain', 1]);
      module.dispose();
    });
  }

  it('frees the tensors it read, when the export succeeds and when the emission fails', async () => {
    const module = new NormLinear('unitScaling');
    const failing: OnnxGraphSource = {
      emitGraph(g) {
        module.emitGraph(g);
        throw new Error('emission failed');
      },
    };
    await exportToOnnx(module); // creates the layer's static scale, which it keeps
    const before = memory().numTensors;
    await exportToOnnx(module);
    expect(memory().numTensors).toBe(before);
    await expect(exportToOnnx(failing)).rejects.toThrow('emission failed');
    expect(memory().numTensors).toBe(before);
    module.dispose();
  });
});
