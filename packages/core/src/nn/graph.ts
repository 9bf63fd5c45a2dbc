/**
 * What a module needs to write its forward as graph nodes, beside its `apply`: ONNX operator
 * names and attributes (opset 19), named values, and initializers taken from tensors. A package
 * that exports graphs (e.g. @octet/backend-onnx) implements it; core only describes.
 */
import type { Tensor } from '../tensor.js';

export type GraphAttribute = { int: number } | { float: number } | { ints: number[] } | { string: string };

/** A dimension of a graph input or output: a fixed size, or a symbolic name such as 'batch'. */
export type GraphDim = number | string;

/**
 * How an initializer keeps a tensor's values: f32; bf16 (two bytes a value, cast to f32 in the
 * graph); or FP8 codes (a uint8 tensor of e4m3fn / e5m2 codes, for DequantizeLinear).
 */
export type GraphStorage = 'f32' | 'bf16' | 'e4m3fn' | 'e5m2';

export interface GraphWeightOptions {
  storage: GraphStorage;
  /** Store a (rows, cols) tensor transposed, (cols, rows). */
  transpose?: boolean;
  /** Maps the values before they are stored (f32 storage only), e.g. a scale to its inverse. */
  map?: (values: Float32Array) => Float32Array;
}

export interface GraphEmitter {
  input(name: string, dtype: 'int64' | 'float', dims: GraphDim[]): string;
  output(name: string, dtype: 'int64' | 'float', dims: GraphDim[]): void;
  /** Adds a node; returns its output's name (`outputName` when given). */
  node(opType: string, inputs: string[], attributes?: Record<string, GraphAttribute>, outputName?: string): string;
  /** A shared scalar f32 constant. */
  constFloat(value: number): string;
  /** A shared int64 constant: a scalar, or 1-D when given an array. */
  constInt(value: number | number[]): string;
  /** An f32 initializer from host values. */
  floats(name: string, dims: number[], values: Float32Array): string;
  /**
   * An initializer named `name` holding `tensor`'s values as `options.storage` says; returns the
   * stored value's name (f32 and FP8 storage) or an f32 Cast of it (bf16). The tensor is read when
   * the graph is encoded, so it must stay alive until then (the emitter keeps a view of it).
   */
  weight(name: string, tensor: Tensor, options: GraphWeightOptions): string;
}

/** ONNX's FLOAT8E4M3FN and FLOAT8E5M2 type numbers (Cast's `to`). */
export const ONNX_FP8_TYPE = { e4m3fn: 17, e5m2: 19 } as const;
export const ONNX_FLOAT = 1;

/** x · factor as a node, or x itself when factor is 1. */
export function scaled(g: GraphEmitter, x: string, factor: number): string {
  return factor === 1 ? x : g.node('Mul', [x, g.constFloat(factor)]);
}

/** Where a module's variables live: `blocks.0.attn.q.` for the Linear whose weight is `blocks.0.attn.q.weight`. */
export function pathOf(variable: { name: string }, leaf: string): string {
  return variable.name.slice(0, variable.name.length - leaf.length);
}
