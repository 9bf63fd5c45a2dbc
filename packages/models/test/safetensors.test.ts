import { readFileSync } from 'node:fs';
import { OctetArgumentError } from '@octet/core';
import { describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  type RawTensor,
  rawTensorFloat32,
  rawTensorFrom,
  rawTensorValues,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDtype,
} from '../src/checkpoint/index.js';

/** Deterministic pseudo-random bytes, so that a failure reproduces. */
function patternBytes(length: number, salt: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 131 + salt * 17 + 7) & 0xff);
}

/** A tensor's elements as a plain array (numbers, or bigints for 64-bit integers). */
function valuesOf(tensor: RawTensor): (number | bigint)[] {
  return Array.from(rawTensorValues(tensor) as ArrayLike<number | bigint>);
}

/** A safetensors file from a header given as text and the data section, as the spec lays it out. */
function fileFrom(headerText: string, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const bytes = new Uint8Array(8 + header.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, headerLength ?? BigInt(header.length), true);
  bytes.set(header, 8);
  bytes.set(data, 8 + header.length);
  return bytes;
}

describe('encodeSafetensors / decodeSafetensors', () => {
  it('round-trips every dtype, including scalars and empty tensors', () => {
    const tensors: Record<string, RawTensor> = {};
    Object.keys(SAFETENSORS_DTYPE_SIZES).forEach((dtype, index) => {
      const size = SAFETENSORS_DTYPE_SIZES[dtype as SafetensorsDtype];
      tensors[`t.${dtype}`] = { dtype: dtype as SafetensorsDtype, shape: [2, 3], data: patternBytes(6 * size, index) };
    });
    tensors.scalar = { dtype: 'F32', shape: [], data: patternBytes(4, 99) };
    tensors.empty = { dtype: 'BF16', shape: [0, 5], data: new Uint8Array(0) };
    const metadata = { format: 'pt', note: 'ünïcödé' };

    const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
    expect(decoded.metadata).toEqual(metadata);
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, tensor] of Object.entries(tensors)) {
      expect(decoded.tensors[name].dtype).toBe(tensor.dtype);
      expect(decoded.tensors[name].shape).toEqual(tensor.shape);
      expect(Array.from(decoded.tensors[name].data)).toEqual(Array.from(tensor.data));
    }
  });

  it('pads the header to a multiple of 8 and keeps every tensor aligned to its element size', () => {
    const bytes = encodeSafetensors({
      bytes: { dtype: 'U8', shape: [3], data: patternBytes(3, 1) },
      halves: { dtype: 'F16', shape: [1], data: patternBytes(2, 2) },
      doubles: { dtype: 'F64', shape: [2], data: patternBytes(16, 3) },
      floats: { dtype: 'F32', shape: [3], data: patternBytes(12, 4) },
    });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)).endsWith('}')).toBe(false); // padded with spaces
    const { tensors } = decodeSafetensors(bytes);
    for (const tensor of Object.values(tensors)) {
      expect(tensor.data.byteOffset % SAFETENSORS_DTYPE_SIZES[tensor.dtype]).toBe(0);
    }
    expect(Object.keys(tensors)).toEqual(['doubles', 'floats', 'halves', 'bytes']);
  });

  it('writes an empty file and metadata-only file that decode', () => {
    const empty = encodeSafetensors({});
    expect(empty.length).toBe(16);
    expect(decodeSafetensors(empty)).toEqual({ tensors: {}, metadata: {} });
    expect(decodeSafetensors(encodeSafetensors({}, { a: 'b' })).metadata).toEqual({ a: 'b' });
  });

  it('decodes a file built byte by byte from the specification, and writes the same bytes', () => {
    // Header: 145 characters of JSON, then 7 spaces so that the data starts at 8 + 152, a multiple of 8.
    const header =
      '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"q":{"dtype":"F8_E4M3","shape":[1,3],"data_offsets":[8,11]}}';
    expect(header.length).toBe(145);
    const headerLengthField = [0x98, 0, 0, 0, 0, 0, 0, 0]; // u64 little-endian 152
    const paddedHeader = Array.from(header + ' '.repeat(7), (char) => char.charCodeAt(0));
    const w = [0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0]; // [1.5, -2] as little-endian f32 (0x3fc00000, 0xc0000000)
    const q = [0x38, 0xb8, 0x7e]; // e4m3 bytes of 1, -1 and 448
    const fixture = Uint8Array.from([...headerLengthField, ...paddedHeader, ...w, ...q]);

    const { tensors, metadata } = decodeSafetensors(fixture);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.w.shape).toEqual([2]);
    expect(Array.from(rawTensorFloat32(tensors.w))).toEqual([1.5, -2]);
    expect(tensors.q).toMatchObject({ dtype: 'F8_E4M3', shape: [1, 3] });
    expect(Array.from(tensors.q.data)).toEqual([0x38, 0xb8, 0x7e]);

    const written = encodeSafetensors({ q: tensors.q, w: rawTensorFrom('F32', [2], Float32Array.from([1.5, -2])) }, { format: 'pt' });
    expect(Array.from(written)).toEqual(Array.from(fixture));
  });

  it('reads a file written by the reference implementation and writes it back byte for byte', () => {
    // __fixtures__/reference-safetensors.py wrote this with Python safetensors 0.8.0.
    const fixture = new Uint8Array(readFileSync(new URL('./__fixtures__/reference.safetensors', import.meta.url)));
    const { tensors, metadata } = decodeSafetensors(fixture);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(tensors)).toHaveLength(15);
    expect(tensors.f32.shape).toEqual([2, 3]);
    expect(Array.from(rawTensorFloat32(tensors.f32))).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(valuesOf(tensors.f64)).toEqual([Math.PI]);
    expect(valuesOf(tensors.f16)).toEqual([0x3c00, 0xb800]); // 1, -0.5
    expect(valuesOf(tensors.bf16)).toEqual([0x3f80, 0xc000, 0x3f00]); // 1, -2, 0.5
    expect(tensors.e4m3).toMatchObject({ dtype: 'F8_E4M3', shape: [2, 2] });
    expect(Array.from(tensors.e4m3.data)).toEqual([0x38, 0xb8, 0x7e, 0x08]); // 1, -1, 448, 2^-6
    expect(Array.from(tensors.e5m2.data)).toEqual([0x3c, 0xc0, 0x7b]); // 1, -2, 57344
    expect(Array.from(tensors.e8m0.data)).toEqual([127, 124, 137]); // 2^0, 2^-3, 2^10
    expect(Array.from(tensors.e4m3fnuz.data)).toEqual([0x40, 0x7f]); // 1, 240
    expect(valuesOf(tensors.i64)).toEqual([-1n, 2n ** 40n]);
    expect(valuesOf(tensors.i32)).toEqual([-7]);
    expect(valuesOf(tensors.u16)).toEqual([65535, 1]);
    expect(valuesOf(tensors.u8)).toEqual([255, 0, 7]);
    expect(valuesOf(tensors.i8)).toEqual([-128]);
    expect(valuesOf(tensors.bool)).toEqual([1, 0]);
    expect(tensors.empty).toMatchObject({ dtype: 'F32', shape: [0, 3] });
    expect(tensors.empty.data.byteLength).toBe(0);

    expect(Array.from(encodeSafetensors(tensors, metadata))).toEqual(Array.from(fixture));
  });

  it('reads tensors stored out of alignment (copying them for typed views)', () => {
    const header = '{"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}';
    const padded = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
    const data = Uint8Array.from([9, 0x00, 0x00, 0x80, 0x3f]);
    const { tensors } = decodeSafetensors(fileFrom(padded, data));
    expect(tensors.f.data.byteOffset % 4).not.toBe(0);
    expect(Array.from(rawTensorFloat32(tensors.f))).toEqual([1]);
  });

  it('fails on every truncation of a valid file', () => {
    const bytes = encodeSafetensors(
      {
        a: rawTensorFrom('F32', [2, 2], Float32Array.from([1, 2, 3, 4])),
        b: rawTensorFrom('I64', [2], BigInt64Array.from([5n, -6n])),
        c: { dtype: 'F8_E5M2', shape: [3], data: patternBytes(3, 5) },
      },
      { step: '10' },
    );
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodeSafetensors(bytes.subarray(0, length)), `truncated to ${length} bytes`).toThrow(OctetArgumentError);
    }
    const extended = new Uint8Array(bytes.length + 1);
    extended.set(bytes);
    expect(() => decodeSafetensors(extended)).toThrow(/data section: got "36 bytes"; allowed: exactly the 35 bytes/);
  });

  it('names what is wrong in a corrupt header', () => {
    const f32 = (offsets: string, shape = '[2]') => `{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;
    const eight = new Uint8Array(8);
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(5), /safetensors file: got "5 bytes"/],
      [fileFrom('{}', eight, 1n << 62n), /safetensors header length: got 4611686018427387904/],
      [fileFrom('{"w": ', eight), /safetensors header: got "6 bytes that are not UTF-8 JSON/],
      [fileFrom('[1, 2]'), /safetensors header: got \[1, 2\]; allowed: a JSON object/],
      [fileFrom('{"w":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}', eight), /tensor "w" dtype: got "F128"/],
      [fileFrom(`{"w":${f32('[0,8]', '[-2]')}}`, eight), /tensor "w" shape: got \[-2\]/],
      [fileFrom(`{"w":${f32('[8,0]')}}`, eight), /tensor "w" data_offsets: got \[8, 0\]/],
      [fileFrom(`{"w":${f32('[0,4]')}}`, eight), /tensor "w" data_offsets: got \[0, 4\]; allowed: a range of 8 bytes/],
      [
        fileFrom(`{"w":${f32('[0,8]')},"v":${f32('[4,12]')}}`, new Uint8Array(12)),
        /tensor "v" data_offsets: .*does not overlap tensor "w"/,
      ],
      [fileFrom(`{"w":${f32('[0,8]')},"v":${f32('[12,20]')}}`, new Uint8Array(20)), /tensor "v" data_offsets: .*starting at 8.*no gap/],
      [fileFrom(`{"w":${f32('[0,8]')}}`, new Uint8Array(4)), /tensor "w" data_offsets: got \[0, 8\]; allowed: a range within the 4-byte/],
      [fileFrom('{"__metadata__":{"step":3}}'), /__metadata__\["step"\]: got 3; allowed: a string/],
      [fileFrom('{"w":7}'), /tensor "w": got 7/],
    ];
    for (const [bytes, message] of cases) expect(() => decodeSafetensors(bytes)).toThrow(message);

    const invalidUtf8 = fileFrom('{}      ');
    invalidUtf8[9] = 0xff;
    expect(() => decodeSafetensors(invalidUtf8)).toThrow(/not UTF-8 JSON/);
  });

  it('refuses to write inconsistent tensors', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Uint8Array(8) } })).toThrow(
      /tensors\["w"\].data.byteLength: got 8; allowed: 12 \(3 elements of F32\)/,
    );
    expect(() => encodeSafetensors({ w: { dtype: 'F4' as SafetensorsDtype, shape: [1], data: new Uint8Array(1) } })).toThrow(/dtype/);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(/tensor name/);
    expect(() => encodeSafetensors({}, { step: 3 as unknown as string })).toThrow(/metadata\["step"\]/);
  });
});

describe('typed views', () => {
  it('round-trips typed arrays through rawTensorFrom and rawTensorValues', () => {
    const floats = Float32Array.from([0.5, -1, 3e38]);
    const tensor = rawTensorFrom('F32', [3], floats);
    floats[0] = 7; // the tensor holds a copy
    expect(Array.from(rawTensorFloat32(tensor))).toEqual([0.5, -1, Math.fround(3e38)]);
    expect(rawTensorValues(rawTensorFrom('I64', [2], BigInt64Array.from([-1n, 2n ** 40n])))).toEqual(BigInt64Array.from([-1n, 2n ** 40n]));
    expect(rawTensorValues(rawTensorFrom('BF16', [2], Uint16Array.from([0x3f80, 0xbf80])))).toEqual(Uint16Array.from([0x3f80, 0xbf80]));
    expect(() => rawTensorFrom('F32', [2], new Float32Array(3))).toThrow(/values.byteLength: got 12; allowed: 8/);
    expect(() => rawTensorFloat32(tensor.dtype === 'F32' ? { ...tensor, dtype: 'F16' } : tensor)).toThrow(/"F32"/);
  });

  it('views aligned data without copying', () => {
    const decoded = decodeSafetensors(encodeSafetensors({ w: rawTensorFrom('F32', [2], Float32Array.from([1, 2])) }));
    expect(rawTensorFloat32(decoded.tensors.w).buffer).toBe(decoded.tensors.w.data.buffer);
  });
});
