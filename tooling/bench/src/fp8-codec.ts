/**
 * FP8 codec throughput: octet's fp8.encode (saturating, round to nearest even) and fp8.decode
 * against ONNX Runtime's Cast (onnxruntime-node, CPU provider) on the same 16M values, in the
 * same process.
 *
 * The peer, and what each ORT number includes:
 * - encode: a model f32 → Cast(to = fp8, saturate = 1) → Shape. onnxruntime-node cannot return
 *   FP8 tensors to JavaScript, so the cast's output stays inside ORT; Shape only makes it a
 *   needed value. The time is ORT's Cast kernel plus the run call.
 * - decode: the 16M codes as an FP8 initializer → Cast(to = f32), output returned to JS (what a
 *   caller of ORT gets), and separately → Shape (the kernel alone, output left in ORT).
 * Graph optimizations are off, or ORT would fold the constant decode away at load time and drop
 * the encode cast whose result is unused; idle intra-op threads do not spin, so they do not
 * take a core from the octet run that follows. One ORT InferenceSession per direction and
 * format, created once. octet writes into preallocated outputs (`out` arguments), as a kernel on
 * a hot path does.
 * Each measurement is warmed up, then repeated with octet and ORT alternating; the table shows
 * the median of the repetitions.
 */
import os from 'node:os';
import { type Fp8Format, fp8 } from '@octet/core';
import onnx from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const VALUES = 1 << 24;
const WARMUP_RUNS = 2;
const TIMED_RUNS = Number(process.env.OCTET_BENCH_FP8_RUNS ?? 7);
const FORMATS: Fp8Format[] = ['e4m3fn', 'e5m2'];
const ONNX_TYPE: Record<Fp8Format, number> = { e4m3fn: 17, e4m3fnuz: 18, e5m2: 19, e5m2fnuz: 20 };
const ONNX_FLOAT = 1;
const ONNX_INT64 = 7;

const proto = onnx.onnx;

/** Normal samples times a scale that changes every 4096 values (2^-12 … 2^12), seeded: activations and gradients of assorted magnitudes. */
function benchValues(): Float32Array {
  const values = new Float32Array(VALUES);
  let state = 0x9e3779b9;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  let scale = 1;
  for (let i = 0; i < VALUES; i += 2) {
    if (i % 4096 === 0) scale = 2 ** Math.floor(uniform() * 25 - 12);
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    values[i] = radius * Math.cos(angle) * scale;
    values[i + 1] = radius * Math.sin(angle) * scale;
  }
  return values;
}

function valueInfo(name: string, elemType: number, dim: onnx.onnx.TensorShapeProto.IDimension): onnx.onnx.IValueInfoProto {
  return proto.ValueInfoProto.create({
    name,
    type: proto.TypeProto.create({
      tensorType: proto.TypeProto.Tensor.create({ elemType, shape: proto.TensorShapeProto.create({ dim: [dim] }) }),
    }),
  });
}

function castNode(input: string, output: string, to: number): onnx.onnx.INodeProto {
  const attribute = [proto.AttributeProto.create({ name: 'to', type: proto.AttributeProto.AttributeType.INT, i: to })];
  if (to !== ONNX_FLOAT)
    attribute.push(proto.AttributeProto.create({ name: 'saturate', type: proto.AttributeProto.AttributeType.INT, i: 1 }));
  return proto.NodeProto.create({ opType: 'Cast', input: [input], output: [output], attribute });
}

const shapeNode = (input: string, output: string) => proto.NodeProto.create({ opType: 'Shape', input: [input], output: [output] });

async function createSession(graph: onnx.onnx.IGraphProto): Promise<ort.InferenceSession> {
  const model = proto.ModelProto.create({
    irVersion: 9,
    opsetImport: [proto.OperatorSetIdProto.create({ domain: '', version: 21 })],
    graph: proto.GraphProto.create(graph),
  });
  return ort.InferenceSession.create(proto.ModelProto.encode(model).finish(), {
    graphOptimizationLevel: 'disabled',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
}

const dynamic = { dimParam: 'n' };
const rank1 = { dimValue: 1 };

function encodeSession(format: Fp8Format): Promise<ort.InferenceSession> {
  return createSession({
    name: `encode_${format}`,
    node: [castNode('x', 'codes', ONNX_TYPE[format]), shapeNode('codes', 'shape')],
    input: [valueInfo('x', ONNX_FLOAT, dynamic)],
    output: [valueInfo('shape', ONNX_INT64, rank1)],
  });
}

function decodeSession(format: Fp8Format, codes: Uint8Array, returnValues: boolean): Promise<ort.InferenceSession> {
  const initializer = proto.TensorProto.create({ name: 'codes', dataType: ONNX_TYPE[format], dims: [codes.length], rawData: codes });
  return createSession({
    name: `decode_${format}`,
    node: returnValues ? [castNode('codes', 'y', ONNX_FLOAT)] : [castNode('codes', 'y', ONNX_FLOAT), shapeNode('y', 'shape')],
    initializer: [initializer],
    output: [returnValues ? valueInfo('y', ONNX_FLOAT, dynamic) : valueInfo('shape', ONNX_INT64, rank1)],
  });
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median throughput in M values/s of each contender, runs alternating between them. */
async function race(contenders: Record<string, () => unknown>): Promise<Record<string, number>> {
  const seconds: Record<string, number[]> = {};
  for (const [name, work] of Object.entries(contenders)) {
    for (let i = 0; i < WARMUP_RUNS; i++) await work();
    seconds[name] = [];
  }
  for (let run = 0; run < TIMED_RUNS; run++) {
    for (const [name, work] of Object.entries(contenders)) {
      const start = performance.now();
      await work();
      seconds[name]!.push((performance.now() - start) / 1000);
    }
  }
  return Object.fromEntries(Object.entries(seconds).map(([name, times]) => [name, VALUES / median(times) / 1e6]));
}

export async function run(): Promise<void> {
  const values = benchValues();
  const input = new ort.Tensor('float32', values, [VALUES]);
  const codes = new Uint8Array(VALUES);
  const decoded = new Float32Array(VALUES);
  const rows: [operation: string, octet: number, peer: string, ortRate: number][] = [];

  for (const format of FORMATS) {
    const session = await encodeSession(format);
    const rates = await race({
      octet: () => fp8.encode(values, format, {}, codes),
      ort: () => session.run({ x: input }),
    });
    rows.push([`encode f32 → ${format}`, rates.octet!, 'Cast kernel', rates.ort!]);
    await session.release();
  }

  for (const format of FORMATS) {
    const formatCodes = fp8.encode(values, format);
    const toJs = await decodeSession(format, formatCodes, true);
    const kernelOnly = await decodeSession(format, formatCodes, false);
    // The peer must compute the same values, or the comparison means nothing.
    const theirs = (await toJs.run({})).y!.data as Float32Array;
    const ours = fp8.decode(formatCodes, format, decoded);
    for (let i = 0; i < VALUES; i++) {
      if (!Object.is(theirs[i], ours[i]) && !(Number.isNaN(theirs[i]) && Number.isNaN(ours[i]))) {
        throw new Error(`decode ${format} disagrees with ORT at ${i}: ${ours[i]} vs ${theirs[i]}`);
      }
    }
    const rates = await race({
      octet: () => fp8.decode(formatCodes, format, decoded),
      toJs: () => toJs.run({}),
      kernelOnly: () => kernelOnly.run({}),
    });
    rows.push([`decode ${format} → f32`, rates.octet!, 'Cast, output to JS', rates.toJs!]);
    rows.push([`decode ${format} → f32`, rates.octet!, 'Cast kernel', rates.kernelOnly!]);
    await toJs.release();
    await kernelOnly.release();
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `${VALUES.toLocaleString('en-US')} f32 values (normal × 2^-12…2^12), median of ${TIMED_RUNS} runs after ${WARMUP_RUNS} warm-up runs; ` +
      `${os.cpus().length} × ${cpu}, Node ${process.versions.node}, onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`,
  );
  console.log('| operation | octet (M values/s) | ORT peer | ORT (M values/s) | octet / ORT |');
  console.log('|---|---|---|---|---|');
  for (const [operation, octet, peer, ortRate] of rows) {
    console.log(`| ${operation} | ${octet.toFixed(0)} | ${peer} | ${ortRate.toFixed(0)} | ${(octet / ortRate).toFixed(2)}× |`);
  }
}
