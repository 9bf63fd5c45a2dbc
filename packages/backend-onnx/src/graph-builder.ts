/**
 * core's GraphEmitter as an ONNX graph, on top of onnx-proto's generated protobuf classes: named
 * values, initializers from typed arrays or tensors, nodes with typed attributes, and model encoding.
 *
 * onnx-proto ships the ONNX 1.10 schema, whose DataType enum stops before the FP8 types; the wire
 * format is an int32, so FLOAT8E4M3FN (17) and FLOAT8E5M2 (19) are written by number.
 */
import { bf16, type GraphAttribute, type GraphDim, type GraphEmitter, type GraphWeightOptions, keep, op, type Tensor } from '@octet/core';
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

const STORED_TYPE = { f32: 'float', bf16: 'bfloat16', e4m3fn: 'float8e4m3fn', e5m2: 'float8e5m2' } as const;

/** An initializer whose values are read from a tensor when the graph is encoded. */
interface PendingWeight {
  name: string;
  /** A view of the tensor, kept until encoding. */
  tensor: Tensor;
  options: GraphWeightOptions;
}

export class GraphBuilder implements GraphEmitter {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly constants = new Map<string, string>();
  private readonly pending: PendingWeight[] = [];
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, dtype: OnnxDtype, dims: GraphDim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(name: string, dtype: OnnxDtype, dims: GraphDim[]): void {
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

  weight(name: string, tensor: Tensor, options: GraphWeightOptions): string {
    this.pending.push({ name, tensor: keep(op.reshape(tensor, tensor.shape)), options });
    return options.storage === 'bf16' ? this.node('Cast', [name], { to: { int: ONNX_DTYPE.float } }) : name;
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

  /** Adds a node and returns its (first) output name. */
  node(opType: string, inputs: string[], attributes: Record<string, GraphAttribute> = {}, outputName?: string): string {
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

  /** Encodes the graph as an ONNX model (IR version 9, default domain at `opset`), reading the weights' tensors. */
  async encode({ name, opset, docString }: { name: string; opset: number; docString?: string }): Promise<Uint8Array> {
    for (const weight of this.pending.splice(0)) {
      try {
        await this.store(weight);
      } finally {
        weight.tensor.dispose();
      }
    }
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

  /** Frees the tensors of weights not yet encoded (after an emission that failed). */
  dispose(): void {
    for (const { tensor } of this.pending.splice(0)) tensor.dispose();
  }

  private async store({ name, tensor, options }: PendingWeight): Promise<void> {
    const { storage, transpose = false, map } = options;
    const values = await tensor.data();
    const [rows, cols] = tensor.shape as [number, number];
    const dims = transpose ? [cols, rows] : [...tensor.shape];
    const ordered = <T extends Float32Array | Uint16Array | Uint8Array>(v: T): T => (transpose ? transposed(v, rows, cols) : v);
    if (storage === 'f32') {
      const floats = ordered(map ? map(values as Float32Array) : (values as Float32Array));
      this.floats(name, dims, floats);
    } else if (storage === 'bf16') {
      const bits = ordered(bf16.encode(values as Float32Array));
      this.initializer(name, 'bfloat16', dims, new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
    } else this.initializer(name, STORED_TYPE[storage], dims, ordered(values as Uint8Array));
  }
}

function transposed<T extends Float32Array | Uint16Array | Uint8Array>(values: T, rows: number, cols: number): T {
  const out = new (values.constructor as new (n: number) => T)(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

function valueInfo(name: string, dtype: OnnxDtype, dims: GraphDim[]) {
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

function attribute(name: string, value: GraphAttribute) {
  const { AttributeType } = onnx.AttributeProto;
  if ('int' in value) return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value.int });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
  if ('ints' in value) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: value.ints });
  return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) });
}
