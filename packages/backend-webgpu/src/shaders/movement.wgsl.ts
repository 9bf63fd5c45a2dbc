/**
 * Data movement as "each output element copies one source element": a kernel supplies
 * `fn source(o: u32) -> u32` (the flat source index of output element `o`), and this template copies
 * raw 32-bit words for float32/int32, or assembles each packed word of four uint8 codes.
 */
import type { DType } from '@octet/core';
import { type Binding, ELEMENTWISE_WORKGROUP, elementwiseGrid, FLAT_INDEX, type Program } from '../program.js';
import { packedByte } from './fp8.wgsl.js';

export function movementProgram(
  key: string,
  dtype: DType,
  uniforms: readonly Binding[],
  sourceFn: string,
  extraInputs: readonly Binding[] = [],
): Program {
  const packed = dtype === 'uint8';
  return {
    key: `${key}:${packed ? 'bytes' : 'words'}`,
    inputs: [{ name: 'xs', type: 'u32' }, ...extraInputs],
    output: { name: 'out', type: 'u32' },
    uniforms: [{ name: 'n', type: 'u32' }, ...uniforms],
    workgroupSize: [ELEMENTWISE_WORKGROUP],
    helpers: sourceFn,
    main: movementMain(packed, (o) => (packed ? packedByte('xs', `source(${o})`) : `xs[source(${o})]`)),
  };
}

/**
 * The body of a movement program over `u.n` output elements: `element(o)` is the WGSL expression
 * of output element o (a byte for packed uint8, assembled four to a word; a 32-bit word otherwise).
 */
export function movementMain(packed: boolean, element: (o: string) => string): string {
  return packed
    ? `  ${FLAT_INDEX}
  if (i * 4u >= u.n) { return; }
  var word = 0u;
  for (var k = 0u; k < 4u; k++) {
    let o = i * 4u + k;
    if (o < u.n) { word |= ${element('o')} << (k * 8u); }
  }
  out[i] = word;`
    : `  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  out[i] = ${element('i')};`;
}

/** Workgroups for a movement program over `n` output elements. */
export function movementGrid(dtype: DType, n: number): [number, number, number] {
  return elementwiseGrid(dtype === 'uint8' ? Math.ceil(n / 4) : n);
}

/** WGSL statements that split flat index `o` into coordinates c0..c{rank-1} of the uniform shape `shape{d}`. */
export function coordinates(rank: number, shapeField = 'shape'): string {
  const lines = ['  var rest = o;'];
  for (let d = rank - 1; d >= 0; d--) lines.push(`  let c${d} = rest % u.${shapeField}${d}; rest = rest / u.${shapeField}${d};`);
  return lines.join('\n');
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}
