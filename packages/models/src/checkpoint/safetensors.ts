import { check, OctetArgumentError } from '@octet/core';

// The safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes   N, the header length, an unsigned 64-bit little-endian integer
//   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { key: value } },
//             padded with spaces so that the data starts 8-byte aligned
//   the rest  tensor bytes, little-endian, row-major; offsets are relative to the start of this section,
//             and the tensors tile it exactly: no gaps, no overlaps, nothing left over.

/**
 * Bytes per element of each safetensors dtype that octet reads and writes, listed in the order of
 * the reference implementation's `Dtype` enum, which decides where each tensor goes in a file.
 * (The packed sub-byte F4/F6 types and complex C64 are not supported.)
 */
export const SAFETENSORS_DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2FNUZ: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_SIZES;

/** A tensor as stored: its dtype, its shape, and its raw little-endian bytes (row-major). */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

export interface Safetensors {
  tensors: Record<string, RawTensor>;
  /** The free-form `__metadata__` string map ({} when the file has none). */
  metadata: Record<string, string>;
}

/** The reference implementation's limit on the header size, which also bounds what a corrupt length can make us read. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const DTYPE_NAMES = Object.keys(SAFETENSORS_DTYPE_SIZES).join(', ');
const DTYPE_RANK = new Map(Object.keys(SAFETENSORS_DTYPE_SIZES).map((dtype, rank) => [dtype, rank]));

/** Orders strings by code point (as Rust orders UTF-8 strings), not by UTF-16 code unit. */
function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a, (char) => char.codePointAt(0) as number);
  const right = Array.from(b, (char) => char.codePointAt(0) as number);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i] - right[i];
  }
  return left.length - right.length;
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZES, value);
}

/** Product of the dimensions, or undefined when the shape is not a list of non-negative integers. */
function elementCount(shape: unknown): number | undefined {
  if (!Array.isArray(shape)) return undefined;
  let count = 1;
  for (const dimension of shape) {
    if (!Number.isSafeInteger(dimension) || dimension < 0) return undefined;
    count *= dimension;
  }
  return Number.isSafeInteger(count) ? count : undefined;
}

/**
 * Serialises tensors to the safetensors format, byte for byte as the reference implementation does:
 * tensors laid out by dtype (later in its `Dtype` enum first, so element sizes never grow and every
 * tensor starts aligned to its element size), then by name; metadata keys sorted.
 */
export function encodeSafetensors(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: [string, unknown][] = [];
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      check(typeof value === 'string', `metadata[${JSON.stringify(key)}]`, value, 'a string');
    }
    const sortedMetadata = Object.entries(metadata).sort(([a], [b]) => compareCodePoints(a, b));
    header.push([METADATA_KEY, Object.fromEntries(sortedMetadata)]);
  }

  const entries = Object.entries(tensors);
  for (const [name, tensor] of entries) {
    const field = `tensors[${JSON.stringify(name)}]`;
    check(name !== METADATA_KEY && name.length > 0, 'tensor name', name, `a non-empty name other than "${METADATA_KEY}"`);
    check(isDtype(tensor?.dtype), `${field}.dtype`, tensor?.dtype, DTYPE_NAMES);
    const count = elementCount(tensor.shape);
    check(count !== undefined, `${field}.shape`, tensor.shape, 'an array of non-negative integers');
    check(tensor.data instanceof Uint8Array, `${field}.data`, tensor.data, 'a Uint8Array of raw little-endian bytes');
    const expected = count * SAFETENSORS_DTYPE_SIZES[tensor.dtype];
    check(
      tensor.data.byteLength === expected,
      `${field}.data.byteLength`,
      tensor.data.byteLength,
      `${expected} (${count} elements of ${tensor.dtype})`,
    );
  }
  entries.sort(
    ([nameA, a], [nameB, b]) =>
      (DTYPE_RANK.get(b.dtype) as number) - (DTYPE_RANK.get(a.dtype) as number) || compareCodePoints(nameA, nameB),
  );

  let offset = 0;
  for (const [name, tensor] of entries) {
    const end = offset + tensor.data.byteLength;
    header.push([name, { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, end] }]);
    offset = end;
  }
  // fromEntries defines own properties, so even a tensor named "__proto__" is serialised as data.
  const headerText = JSON.stringify(Object.fromEntries(header));
  const unpadded = new TextEncoder().encode(headerText);
  const headerLength = Math.ceil(unpadded.length / 8) * 8;

  const bytes = new Uint8Array(8 + headerLength + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLength), true);
  bytes.set(unpadded, 8);
  bytes.fill(0x20, 8 + unpadded.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const [, tensor] of entries) {
    bytes.set(tensor.data, position);
    position += tensor.data.byteLength;
  }
  return bytes;
}

/**
 * Parses a safetensors file and checks it completely: the header length fits the file, the header is
 * UTF-8 JSON, every entry has a known dtype, a valid shape and offsets whose length matches the
 * shape, and the tensors tile the data section exactly. Anything else throws an OctetArgumentError
 * naming the tensor or field. Tensor data are views into `bytes` (no copy).
 */
export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  check(bytes.byteLength >= 8, 'safetensors file', `${bytes.byteLength} bytes`, 'at least 8 bytes (the header length field)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLength = view.getBigUint64(0, true);
  const available = bytes.byteLength - 8;
  check(
    declaredLength <= BigInt(Math.min(available, MAX_HEADER_BYTES)),
    'safetensors header length',
    declaredLength,
    `at most ${Math.min(available, MAX_HEADER_BYTES)} bytes (the file has ${available} bytes after the length field)`,
  );
  const headerLength = Number(declaredLength);

  let header: unknown;
  try {
    const headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    header = JSON.parse(headerText);
  } catch (error) {
    throw new OctetArgumentError(
      'safetensors header',
      `${headerLength} bytes that are not UTF-8 JSON (${(error as Error).message})`,
      'a UTF-8 JSON object',
    );
  }
  check(typeof header === 'object' && header !== null && !Array.isArray(header), 'safetensors header', header, 'a JSON object');

  const metadata: Record<string, string> = {};
  const placed: { name: string; tensor: RawTensor; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (entry === null) continue;
      check(typeof entry === 'object' && !Array.isArray(entry), `safetensors ${METADATA_KEY}`, entry, 'an object of strings');
      for (const [key, value] of Object.entries(entry as object)) {
        check(typeof value === 'string', `safetensors ${METADATA_KEY}[${JSON.stringify(key)}]`, value, 'a string');
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const field = `tensor ${JSON.stringify(name)}`;
    check(typeof entry === 'object' && entry !== null && !Array.isArray(entry), field, entry, 'an object { dtype, shape, data_offsets }');
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    check(isDtype(dtype), `${field} dtype`, dtype, DTYPE_NAMES);
    const count = elementCount(shape);
    check(count !== undefined, `${field} shape`, shape, 'an array of non-negative integers');
    const offsetsValid =
      Array.isArray(offsets) &&
      offsets.length === 2 &&
      offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) &&
      offsets[0] <= offsets[1];
    check(offsetsValid, `${field} data_offsets`, offsets, 'two integers [begin, end] with 0 ≤ begin ≤ end');
    const [begin, end] = offsets as [number, number];
    const expected = count * SAFETENSORS_DTYPE_SIZES[dtype];
    check(
      end - begin === expected,
      `${field} data_offsets`,
      offsets,
      `a range of ${expected} bytes (shape [${(shape as number[]).join(', ')}] × ${SAFETENSORS_DTYPE_SIZES[dtype]} bytes of ${dtype})`,
    );
    placed.push({ name, tensor: { dtype, shape: [...(shape as number[])], data: new Uint8Array(0) }, begin, end });
  }

  // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  placed.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = 'the start of the data section';
  for (const { name, tensor, begin, end } of placed) {
    const field = `tensor ${JSON.stringify(name)} data_offsets`;
    check(begin >= covered, field, [begin, end], `a range that does not overlap ${previous} (which ends at ${covered})`);
    check(begin === covered, field, [begin, end], `a range starting at ${covered}, right after ${previous} (no gap)`);
    check(end <= dataLength, field, [begin, end], `a range within the ${dataLength}-byte data section (is the file truncated?)`);
    tensor.data = bytes.subarray(dataStart + begin, dataStart + end);
    covered = end;
    previous = `tensor ${JSON.stringify(name)}`;
  }
  check(
    covered === dataLength,
    'safetensors data section',
    `${dataLength} bytes`,
    `exactly the ${covered} bytes the header's tensors cover (is the file truncated or padded?)`,
  );

  return { tensors: Object.fromEntries(placed.map(({ name, tensor }) => [name, tensor])), metadata };
}

/** Typed-array views of each dtype's elements; 16-bit floats are their raw bits, FP8 types their raw bytes. */
export type RawTensorValues =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

const ARRAY_TYPES = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  F8_E4M3: Uint8Array,
  F8_E5M2: Uint8Array,
  F8_E8M0: Uint8Array,
  F8_E4M3FNUZ: Uint8Array,
  F8_E5M2FNUZ: Uint8Array,
  U16: Uint16Array,
  I16: Int16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  U32: Uint32Array,
  I32: Int32Array,
  F32: Float32Array,
  U64: BigUint64Array,
  I64: BigInt64Array,
  F64: Float64Array,
} as const satisfies Record<SafetensorsDtype, unknown>;

// Typed arrays use the machine's byte order and safetensors is little-endian; every platform Node
// and browsers run on is little-endian, and this guard makes that assumption explicit.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A RawTensor holding a copy of a typed array's bytes, e.g. rawTensorFrom('F32', [2, 3], floats)
 * or rawTensorFrom('F8_E4M3', [n], fp8Bytes).
 */
export function rawTensorFrom(dtype: SafetensorsDtype, shape: number[], values: ArrayBufferView): RawTensor {
  check(LITTLE_ENDIAN, 'platform byte order', 'big-endian', 'little-endian');
  check(isDtype(dtype), 'dtype', dtype, DTYPE_NAMES);
  const count = elementCount(shape);
  check(count !== undefined, 'shape', shape, 'an array of non-negative integers');
  const expected = count * SAFETENSORS_DTYPE_SIZES[dtype];
  check(values.byteLength === expected, 'values.byteLength', values.byteLength, `${expected} (${count} elements of ${dtype})`);
  const data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  return { dtype, shape: [...shape], data };
}

/**
 * The tensor's elements as the typed array of its dtype (a view when the bytes are aligned for
 * it, else an aligned copy; decodeSafetensors output is aligned for files written by encodeSafetensors).
 */
export function rawTensorValues(tensor: RawTensor): RawTensorValues {
  check(LITTLE_ENDIAN, 'platform byte order', 'big-endian', 'little-endian');
  check(isDtype(tensor.dtype), 'tensor.dtype', tensor.dtype, DTYPE_NAMES);
  const ArrayType = ARRAY_TYPES[tensor.dtype];
  const { data } = tensor;
  const aligned = data.byteOffset % ArrayType.BYTES_PER_ELEMENT === 0 ? data : data.slice();
  return new ArrayType(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / ArrayType.BYTES_PER_ELEMENT);
}

/** The elements of an F32 tensor. */
export function rawTensorFloat32(tensor: RawTensor): Float32Array {
  check(tensor.dtype === 'F32', 'tensor.dtype', tensor.dtype, '"F32"');
  return rawTensorValues(tensor) as Float32Array;
}
