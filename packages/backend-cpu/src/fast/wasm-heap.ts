/**
 * The WASM memory's layout (decode tables, per-thread scratch, then the heap) and its allocator.
 */
import type { WasmMemory } from './wasm-api.js';

export const PAGE = 65536;
export const MAX_PAGES = 32768; // 2 GiB; must match --maximumMemory in the build
export const TABLES = 4096; // four 256-entry f32 decode tables
export const SCRATCH = PAGE; // per-thread packing buffers from here
/** K-block depth and widest column tile of the GEMM (wasm/MatMul.ts packs KC × GEMM_TILE_COLS floats of B). */
const KC = 256;
export const GEMM_TILE_COLS = 512;
export const SCRATCH_BYTES = Math.ceil(((4 * KC + KC * GEMM_TILE_COLS) * 4) / PAGE) * PAGE;

/**
 * First-fit allocator over the memory from `start` on, in 64-byte units; grows the memory when
 * nothing free fits. Allocation is rare (a few per kernel call), so a sorted free list suffices.
 */
export class Heap {
  private readonly sizes = new Map<number, number>();
  private readonly freeList: { ptr: number; size: number }[] = [];
  private top: number;

  constructor(
    private readonly memory: WasmMemory,
    start: number,
  ) {
    this.top = start;
  }

  alloc(bytes: number): number {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    const index = this.freeList.findIndex((block) => block.size >= size);
    let ptr: number;
    if (index >= 0) {
      const block = this.freeList[index]!;
      ptr = block.ptr;
      if (block.size === size) this.freeList.splice(index, 1);
      else {
        block.ptr += size;
        block.size -= size;
      }
    } else {
      ptr = this.top;
      this.top += size;
      const needed = Math.ceil(this.top / PAGE) - this.memory.buffer.byteLength / PAGE;
      if (needed > 0) {
        const current = this.memory.buffer.byteLength / PAGE;
        const pages = Math.min(MAX_PAGES - current, Math.max(needed, current >> 1)); // grow by half, to grow rarely
        if (pages < needed) {
          this.top -= size;
          throw new Error(`the CPU backend's WASM memory is full: ${bytes} more bytes do not fit in ${(MAX_PAGES * PAGE) / 2 ** 30} GiB`);
        }
        this.memory.grow(pages);
      }
    }
    this.sizes.set(ptr, size);
    return ptr;
  }

  /** Copies `values` into newly allocated memory; returns its offset. */
  copyIn(values: ArrayBufferView): number {
    const ptr = this.alloc(values.byteLength);
    new Uint8Array(this.memory.buffer).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), ptr);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    let at = this.freeList.findIndex((block) => block.ptr > ptr);
    if (at < 0) at = this.freeList.length;
    this.freeList.splice(at, 0, { ptr, size });
    // Merge with the next and the previous block, then give the last block back to the top.
    const next = this.freeList[at + 1];
    const block = this.freeList[at]!;
    if (next && block.ptr + block.size === next.ptr) {
      block.size += next.size;
      this.freeList.splice(at + 1, 1);
    }
    const previous = this.freeList[at - 1];
    if (previous && previous.ptr + previous.size === block.ptr) {
      previous.size += block.size;
      this.freeList.splice(at, 1);
    }
    const last = this.freeList[this.freeList.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.freeList.pop();
    }
  }
}
