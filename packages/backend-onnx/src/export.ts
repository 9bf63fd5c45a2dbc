/**
 * ONNX export of anything that writes its forward to core's GraphEmitter (a Gpt does: its modules
 * emit their own nodes beside their `apply`). Weights are read from the active tensor backend.
 */
import { type GraphEmitter, tidy } from '@octet/core';
import { GraphBuilder } from './graph-builder.js';

/** ONNX opset of exported graphs: the first with FP8 QuantizeLinear/DequantizeLinear. */
export const ONNX_OPSET = 19;

export interface OnnxExportOptions {
  /** Add past/present KV-cache inputs and outputs plus attention_mask and position_ids (default true). */
  kvCache?: boolean;
}

/** A model that writes its graph (inputs, nodes, weights, outputs) to an emitter. */
export interface OnnxGraphSource {
  emitGraph(g: GraphEmitter, options: { kvCache: boolean }): { name: string; docString?: string };
}

/** Exports `source` to ONNX bytes (opset 19). */
export async function exportToOnnx(source: OnnxGraphSource, { kvCache = true }: OnnxExportOptions = {}): Promise<Uint8Array> {
  const g = new GraphBuilder();
  try {
    // The emission's error is caught inside the tidy so that the tidy still frees what it made.
    const emitted = tidy(() => {
      try {
        return { graph: source.emitGraph(g, { kvCache }) };
      } catch (error) {
        return { error };
      }
    });
    if ('error' in emitted) throw emitted.error;
    const { name, docString } = emitted.graph;
    return await g.encode({ name, opset: ONNX_OPSET, ...(docString === undefined ? {} : { docString }) });
  } finally {
    g.dispose();
  }
}
