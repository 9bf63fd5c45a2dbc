/**
 * A Gpt's forward as an ONNX graph, written by its own modules (Block.emit, CausalSelfAttention.emit
 * and the `emit` beside the `apply` of Linear, RMSNorm, Mlp and Embedding); this file adds only what
 * serving needs around them: the inputs and outputs, and the KV cache's layout.
 *
 * With `kvCache`, every layer has `past_key_values.<l>.key|value` inputs (B, H, P, D) and
 * `present.<l>.key|value` outputs (B, H, P+T, D); keys are stored after RoPE. `attention_mask`
 * (B, P+T) marks real (1) and padding (0) positions and `position_ids` (B, T) gives each new
 * token's position, so sequences of different lengths decode together left-padded. Without it,
 * the only input is `input_ids` and positions start at 0.
 */
import type { CausalSelfAttention, GraphAttentionCache, GraphEmitter } from '@octet/core';
import type { Gpt } from './gpt.js';

const BOOL = 9;

export function emitGptGraph(model: Gpt, g: GraphEmitter, { kvCache }: { kvCache: boolean }): { name: string; docString: string } {
  const { layers, dim: C, heads: H, vocabSize: V, recipe } = model.config;
  const D = C / H;
  const batch = 'batch';
  const ids = g.input('input_ids', 'int64', [batch, 'sequence']);
  const T = g.node('Gather', [g.node('Shape', [ids]), g.constInt(1)], { axis: { int: 0 } }); // scalar
  let positions: string; // (B or 1, T) int64
  let keyMask: string | null = null; // (B, P+T) int64
  let past: string; // scalar int64
  const pastNames: [string, string][] = [];
  if (kvCache) {
    keyMask = g.input('attention_mask', 'int64', [batch, 'total_sequence']);
    positions = g.input('position_ids', 'int64', [batch, 'sequence']);
    for (let l = 0; l < layers; l++) {
      pastNames.push([
        g.input(`past_key_values.${l}.key`, 'float', [batch, H, 'past_sequence', D]),
        g.input(`past_key_values.${l}.value`, 'float', [batch, H, 'past_sequence', D]),
      ]);
    }
    past = g.node('Gather', [g.node('Shape', [pastNames[0]![0]]), g.constInt(2)], { axis: { int: 0 } });
  } else {
    past = g.constInt(0);
    positions = g.node('Unsqueeze', [g.node('Range', [g.constInt(0), T, g.constInt(1)]), g.constInt([0])]);
  }
  const total = g.node('Add', [past, T]);

  // Which keys each query sees, shared by every layer: (B or 1, 1, T, P+T) bool.
  const keyIndex = g.node('Unsqueeze', [g.node('Range', [g.constInt(0), total, g.constInt(1)]), g.constInt([0])]); // (1, P+T)
  const queryPosition = g.node('Unsqueeze', [g.node('Range', [past, total, g.constInt(1)]), g.constInt([1])]); // (T, 1)
  let allowed = g.node('LessOrEqual', [keyIndex, queryPosition]); // (T, P+T): key j visible to query i when j ≤ P + i
  if (keyMask) {
    const real = g.node('Unsqueeze', [g.node('Cast', [keyMask], { to: { int: BOOL } }), g.constInt([1, 2])]); // (B, 1, 1, P+T)
    allowed = g.node('And', [allowed, real]);
  } else allowed = g.node('Unsqueeze', [allowed, g.constInt([0, 1])]);

  // RoPE tables, one per distinct (head dim, base), shared by the layers.
  const tables = new Map<string, { cos: string; sin: string }>();
  const ropeTables = (attention: CausalSelfAttention) => {
    const key = `${attention.headDim}:${attention.options.ropeBase}`;
    if (!tables.has(key)) tables.set(key, attention.emitRopeTables(g, positions));
    return tables.get(key)!;
  };
  const cacheOf = (l: number): GraphAttentionCache => ({
    attend(g, attention, q, k, v) {
      const rope = ropeTables(attention);
      let keys = attention.emitRotate(g, attention.emitSplitHeads(g, k), rope);
      let values = attention.emitSplitHeads(g, v);
      if (kvCache) {
        keys = g.node('Concat', [pastNames[l]![0], keys], { axis: { int: 2 } }, `present.${l}.key`);
        values = g.node('Concat', [pastNames[l]![1], values], { axis: { int: 2 } }, `present.${l}.value`);
        g.output(keys, 'float', [batch, H, 'total_sequence', D]);
        g.output(values, 'float', [batch, H, 'total_sequence', D]);
      }
      const query = attention.emitRotate(g, attention.emitSplitHeads(g, q), rope);
      return attention.emitMergeHeads(g, attention.emitAttendMasked(g, query, keys, values, allowed));
    },
  });

  // The embedding and head kept as a checkpoint keeps them: bf16 unless the model is f32.
  let h = model.embedding.emit(g, ids, model.recipe.precision === 'f32' ? 'f32' : 'bf16'); // (B, T, C)
  model.blocks.forEach((block, l) => {
    h = block.emit(g, h, cacheOf(l));
  });
  g.node('Identity', [model.head.emit(g, model.finalNorm.emit(g, h))], {}, 'logits');
  g.output('logits', 'float', [batch, 'sequence', V]);
  return { name: 'octet-gpt', docString: `octet GPT (${recipe}, ${layers} layers, dim ${C})` };
}
