/**
 * A small builder for ONNX graphs on top of onnx-proto's generated protobuf classes: named values,
 * initializers from typed arrays, nodes with typed attributes, and model encoding.
 *
 * onnx-proto ships the ONNX 1.10 schema, whose DataType enum stops before the FP8 types; the wire
 * format is an int32, so FLOAT8E4M3FN (17) and FLOAT8E5M2 (19) are written by number.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType numbers used by the exporter. */
export const ONNX_DTYPE = {
  float: 1,
  uint8: 2,
  int64: 7,
  bool: 9,
  bfloat16: 16,
  float8e4m3fn: 17,
  float8e5m2: 19,
} as const;

export type OnnxDtype = keyof typeof ONNX_DTYPE;

/** An attribute value, tagged with its ONNX attribute type. */
export type AttributeValue = { int: number } | { float: number } | { ints: number[] } | { string: string };

/** A dimension: a fixed size, or a symbolic name such as 'batch'. */
export type Dim = number | string;

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, dtype: OnnxDtype, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(name: string, dtype: OnnxDtype, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** Adds an initializer from its little-endian bytes. Returns its name. */
  initializer(name: string, dtype: OnnxDtype, dims: number[], bytes: Uint8Array): string {
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: ONNX_DTYPE[dtype], rawData: bytes }));
    return name;
  }

  floats(name: string, dims: number[], values: Float32Array): string {
    return this.initializer(name, 'float', dims, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  /** A shared f32 constant (scalar when dims is []). */
  constFloat(value: number, dims: number[] = []): string {
    const key = `f:${value}:${dims.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const_f32');
      const size = dims.reduce((a, b) => a * b, 1);
      this.floats(name, dims, new Float32Array(size).fill(value));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A shared int64 constant: a scalar, or a 1-D tensor when given an array. */
  constInt(value: number | number[]): string {
    const key = `i:${JSON.stringify(value)}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const_i64');
      const values = BigInt64Array.from((Array.isArray(value) ? value : [value]).map(BigInt));
      this.initializer(name, 'int64', Array.isArray(value) ? [value.length] : [], new Uint8Array(values.buffer));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A scalar zero of an FP8 type: QuantizeLinear's zero point, which picks its output type. */
  fp8Zero(dtype: 'float8e4m3fn' | 'float8e5m2'): string {
    const key = `z:${dtype}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.initializer(this.fresh(`zero_${dtype}`), dtype, [], new Uint8Array([0]));
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds a node and returns its (first) output name. */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    const out = outputName ?? this.fresh(opType.toLowerCase());
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(`${opType}_node`),
        input: inputs,
        output: [out],
        attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
      }),
    );
    return out;
  }

  /** Encodes the graph as an ONNX model (IR version 9, default domain at `opset`). */
  encode({ name, opset, docString }: { name: string; opset: number; docString?: string }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 9,
      producerName: 'octet',
      producerVersion: '0.1.0',
      docString: docString ?? '',
      opsetImport: [{ domain: '', version: opset }],
      graph: onnx.GraphProto.create({
        name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dtype: OnnxDtype, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[dtype],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, value: AttributeValue) {
  const { AttributeType } = onnx.AttributeProto;
  if ('int' in value) return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value.int });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
  if ('ints' in value) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: value.ints });
  return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) });
}
