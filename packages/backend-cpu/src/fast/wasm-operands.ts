/**
 * Weights kept in the WASM memory between calls. Copies in are O(n²) against the GEMM's O(n³), but
 * matrix × vector is O(n²) too, so a weight seen a second time stays in the memory, keyed by its
 * storage object, which no kernel ever writes; it is freed when that object is garbage-collected
 * (or at once, by `forget`, when its storage is freed).
 */
import type { KernelExports } from './wasm-exports.js';
import { type Heap, TABLES } from './wasm-heap.js';

/** A weight kept in the memory: where, and whether its codes need the exact table decode. */
export interface CachedOperand {
  ptr: number;
  bytes: number;
  useTable: boolean;
  /** Set once matrix × vector has rewritten the codes' subnormals (ptr 0: it found none). */
  fixups?: SubnormalFixups;
}

/** Where `rewriteSubnormalCodes` found subnormal codes (wasm/MatMul.ts), for one layout of the weight. */
interface SubnormalFixups {
  ptr: number;
  bytes: number;
  N: number;
  K: number;
  kContig: boolean;
}

/** A weight as matrix × vector reads it: its codes, and the fixups of their rewritten subnormals (or 0). */
export interface MatvecOperand {
  ptr: number;
  useTable: boolean;
  fixups: number;
  /** Copied for this call: the caller frees `ptr` and `fixups`. */
  owned: boolean;
}

/** A weight kept decoded and packed for the GEMM (`packWeights`), for one orientation. */
interface PackedOperand {
  ptr: number;
  bytes: number;
  kContig: boolean;
}

/** Most bytes of weights kept in the memory between calls, as codes and as packed panels each. */
const CACHE_LIMIT = 512 * 2 ** 20;

export class OperandCache {
  private readonly cache = new WeakMap<object, CachedOperand>();
  private readonly seenOnce = new WeakSet<object>();
  private cachedBytes = 0;
  /** Weights packed for the GEMM, and the way (`kContig`) each weight was last used unpacked. */
  private readonly packedCache = new WeakMap<object, PackedOperand>();
  private readonly unpackedUse = new WeakMap<object, boolean>();
  private packedBytes = 0;
  private readonly release = new FinalizationRegistry<CachedOperand | PackedOperand>((entry) => this.drop(entry));

  constructor(
    private readonly heap: Heap,
    private readonly kernels: KernelExports,
  ) {}

  /** True when FP8 codes at `ptr` hold NaN or infinity codes (those need the exact table decode). */
  hasSpecialCodes(ptr: number, length: number, format: number): boolean {
    return format !== 0 && this.kernels.hasSpecialCodes(ptr, length, format) !== 0;
  }

  /**
   * The operand `values` (owned by `key`) in the memory. A weight seen before stays there (keyed by
   * its storage object, which kernels never write) until that object is collected; other operands
   * are copied for this call alone (`owned`: the caller frees them).
   */
  operand(key: object, values: ArrayBufferView, format: number): CachedOperand & { owned: boolean } {
    const cached = this.cache.get(key);
    if (cached && !cached.fixups?.ptr) return { ...cached, owned: false };
    const ptr = this.heap.copyIn(values);
    if (cached) return { ptr, bytes: cached.bytes, useTable: cached.useTable, owned: true }; // the resident codes were rewritten
    const entry = { ptr, bytes: values.byteLength, useTable: this.hasSpecialCodes(ptr, values.byteLength, format) };
    if (!this.seenOnce.has(key)) {
      this.seenOnce.add(key);
      return { ...entry, owned: true };
    }
    if (this.cachedBytes + entry.bytes > CACHE_LIMIT) return { ...entry, owned: true };
    this.cache.set(key, entry);
    this.cachedBytes += entry.bytes;
    this.release.register(key, entry, entry);
    return { ...entry, owned: false };
  }

  /**
   * B of a GEMM (N × K, or K × N unless `kContig`) decoded to f32 and packed once, 4 bytes per
   * element, for a weight that comes back the same way: every later GEMM skips the decode and
   * packing, the bound of GEMMs with few rows (a decode batch, a prompt). The first use of each
   * orientation packs per call as usual (a training weight is used once each way, then replaced).
   * Null: pack per call.
   */
  packed(key: object, values: ArrayBufferView, format: number, kContig: boolean, N: number, K: number): number | null {
    const cached = this.packedCache.get(key);
    if (cached) return cached.kContig === kContig ? cached.ptr : null;
    if (this.unpackedUse.get(key) !== kContig) {
      this.unpackedUse.set(key, kContig);
      return null;
    }
    const bytes = K * Math.ceil(N / 8) * 8 * 4;
    if (this.packedBytes + bytes > CACHE_LIMIT) return null;
    const source = this.operand(key, values, format);
    const entry: PackedOperand = { ptr: this.heap.alloc(bytes), bytes, kContig };
    try {
      this.kernels.packWeights(source.ptr, format, kContig ? 1 : 0, N, K, entry.ptr, TABLES);
    } finally {
      if (source.owned) this.heap.free(source.ptr);
    }
    this.packedCache.set(key, entry);
    this.packedBytes += entry.bytes;
    this.release.register(key, entry, entry);
    return entry.ptr;
  }

  /**
   * A weight's codes for matrix × vector: as `operand`, but with their subnormal codes rewritten
   * and listed (wasm/MatMul.ts) for B stored N × K (`kContig`) or K × N, so the kernel's decode
   * never makes a subnormal f32. A resident weight is rewritten once (later GEMMs get fresh copies).
   */
  matvecOperand(key: object, values: ArrayBufferView, format: number, N: number, K: number, kContig: boolean): MatvecOperand {
    const cached = this.cache.get(key);
    const fixups = cached?.fixups;
    if (fixups && (fixups.ptr === 0 || (fixups.N === N && fixups.K === K && fixups.kContig === kContig))) {
      return { ptr: cached.ptr, useTable: cached.useTable, fixups: fixups.ptr, owned: false };
    }
    const operand = this.operand(key, values, format);
    if (format === 0 || operand.useTable) return { ptr: operand.ptr, useTable: operand.useTable, fixups: 0, owned: operand.owned };
    const count = this.kernels.countSubnormalCodes(operand.ptr, N * K, format);
    const rewritten: SubnormalFixups = { ptr: 0, bytes: 0, N, K, kContig };
    if (count > 0) {
      rewritten.bytes = (N + 1 + count) * 4;
      rewritten.ptr = this.heap.alloc(rewritten.bytes);
      this.kernels.rewriteSubnormalCodes(operand.ptr, format, kContig ? 1 : 0, N, K, rewritten.ptr);
    }
    if (!operand.owned) {
      const entry = this.cache.get(key)!;
      entry.fixups = rewritten;
      this.cachedBytes += rewritten.bytes;
    }
    return { ptr: operand.ptr, useTable: false, fixups: rewritten.ptr, owned: operand.owned };
  }

  /** Frees what the memory keeps for `key` (its storage was freed) at once, rather than when it is collected. */
  forget(key: object): void {
    for (const entry of [this.cache.get(key), this.packedCache.get(key)]) {
      if (entry === undefined) continue;
      this.release.unregister(entry);
      this.drop(entry);
    }
    this.cache.delete(key);
    this.packedCache.delete(key);
  }

  private drop(entry: CachedOperand | PackedOperand): void {
    this.heap.free(entry.ptr);
    if (!('useTable' in entry)) {
      this.packedBytes -= entry.bytes;
      return;
    }
    this.cachedBytes -= entry.bytes + (entry.fixups?.bytes ?? 0);
    if (entry.fixups?.ptr) this.heap.free(entry.fixups.ptr);
  }
}
