/**
 * ONNX Runtime as the oracle for the FP8 casts: small models built with onnx-proto and run
 * on onnxruntime-node's CPU provider (opset 21).
 *
 * onnxruntime-node cannot hand FP8 tensors to JavaScript (it rejects element types 17–20), so:
 * - encoding is observed as a round trip f32 → Cast(fp8) → Cast(f32) in one model, and the
 *   resulting value is mapped back to its code through ORT's own decoding of all 256 codes
 *   (`ortCodesOf`); that map is a bijection on the non-NaN codes (checked by the tests);
 * - decoding feeds the 256 codes as an FP8 initializer to Cast (and, separately, to
 *   DequantizeLinear with scale 1).
 * Graph optimizations are off, so no cast pair is folded or removed.
 */
import onnx from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Fp8Format } from '../../src/numerics.js';

const proto = onnx.onnx;

/** TensorProto.DataType numbers of the FP8 types (ONNX ≥ 1.14; onnx-proto's enum predates them). */
export const ONNX_FP8_TYPE: Record<Fp8Format, number> = { e4m3fn: 17, e4m3fnuz: 18, e5m2: 19, e5m2fnuz: 20 };
const FLOAT = 1;

function tensorValue(name: string, elemType: number): onnx.onnx.IValueInfoProto {
  return proto.ValueInfoProto.create({
    name,
    type: proto.TypeProto.create({
      tensorType: proto.TypeProto.Tensor.create({
        elemType,
        shape: proto.TensorShapeProto.create({ dim: [proto.TensorShapeProto.Dimension.create({ dimParam: 'n' })] }),
      }),
    }),
  });
}

function intAttribute(name: string, value: number): onnx.onnx.IAttributeProto {
  return proto.AttributeProto.create({ name, type: proto.AttributeProto.AttributeType.INT, i: value });
}

function castNode(input: string, output: string, to: number, saturate?: boolean): onnx.onnx.INodeProto {
  const attribute = [intAttribute('to', to)];
  if (saturate !== undefined) attribute.push(intAttribute('saturate', saturate ? 1 : 0));
  return proto.NodeProto.create({ opType: 'Cast', input: [input], output: [output], attribute });
}

function modelBytes(graph: onnx.onnx.IGraphProto): Uint8Array {
  const model = proto.ModelProto.create({
    irVersion: 9,
    opsetImport: [proto.OperatorSetIdProto.create({ domain: '', version: 21 })],
    graph: proto.GraphProto.create(graph),
  });
  return proto.ModelProto.encode(model).finish();
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function session(key: string, build: () => Uint8Array): Promise<ort.InferenceSession> {
  let pending = sessions.get(key);
  if (pending === undefined) {
    pending = ort.InferenceSession.create(build(), { graphOptimizationLevel: 'disabled' });
    sessions.set(key, pending);
  }
  return pending;
}

/** ORT's f32 → fp8 → f32 for every value (the fp8 step with the given `saturate`). */
export async function ortRoundTrip(values: Float32Array, format: Fp8Format, saturate: boolean): Promise<Float32Array> {
  const roundTrip = await session(`round-trip/${format}/${saturate}`, () =>
    modelBytes({
      name: 'round_trip',
      node: [castNode('x', 'codes', ONNX_FP8_TYPE[format], saturate), castNode('codes', 'y', FLOAT)],
      input: [tensorValue('x', FLOAT)],
      output: [tensorValue('y', FLOAT)],
    }),
  );
  const result = await roundTrip.run({ x: new ort.Tensor('float32', values, [values.length]) });
  return result.y!.data as Float32Array;
}

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, code) => code);

function allCodesInitializer(format: Fp8Format): onnx.onnx.ITensorProto {
  return proto.TensorProto.create({ name: 'codes', dataType: ONNX_FP8_TYPE[format], dims: [256], rawData: ALL_CODES });
}

/** ORT's Cast(fp8 → f32) of codes 0..255. */
export async function ortDecodeAllCodes(format: Fp8Format): Promise<Float32Array> {
  const decode = await session(`decode/${format}`, () =>
    modelBytes({
      name: 'decode',
      node: [castNode('codes', 'y', FLOAT)],
      initializer: [allCodesInitializer(format)],
      output: [tensorValue('y', FLOAT)],
    }),
  );
  return (await decode.run({})).y!.data as Float32Array;
}

/** ORT's DequantizeLinear(codes 0..255, scale 1) → f32. */
export async function ortDequantizeAllCodes(format: Fp8Format): Promise<Float32Array> {
  const dequantize = await session(`dequantize/${format}`, () =>
    modelBytes({
      name: 'dequantize',
      node: [proto.NodeProto.create({ opType: 'DequantizeLinear', input: ['codes', 'scale'], output: ['y'] })],
      initializer: [allCodesInitializer(format), proto.TensorProto.create({ name: 'scale', dataType: FLOAT, dims: [], floatData: [1] })],
      output: [tensorValue('y', FLOAT)],
    }),
  );
  return (await dequantize.run({})).y!.data as Float32Array;
}

/** Marks a NaN result in the arrays `ortCodesOf` returns (no single code stands for "some NaN"). */
export const NAN_RESULT = -1;

/**
 * ORT's codes for `values`: the round trip, with each non-NaN result mapped back to the code
 * ORT decodes to exactly that f32 bit pattern, and NaN results as NAN_RESULT.
 */
export async function ortCodesOf(values: Float32Array, format: Fp8Format, saturate: boolean): Promise<Int16Array> {
  const decoded = await ortDecodeAllCodes(format);
  const decodedBits = new Uint32Array(decoded.buffer, decoded.byteOffset, 256);
  const codeOfBits = new Map<number, number>();
  for (let code = 0; code < 256; code++) if (!Number.isNaN(decoded[code])) codeOfBits.set(decodedBits[code]!, code);
  const roundTrip = await ortRoundTrip(values, format, saturate);
  const roundTripBits = new Uint32Array(roundTrip.buffer, roundTrip.byteOffset, roundTrip.length);
  const codes = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(roundTrip[i])) {
      codes[i] = NAN_RESULT;
      continue;
    }
    const code = codeOfBits.get(roundTripBits[i]!);
    if (code === undefined) throw new Error(`ORT produced ${roundTrip[i]}, which is no ${format} value`);
    codes[i] = code;
  }
  return codes;
}
