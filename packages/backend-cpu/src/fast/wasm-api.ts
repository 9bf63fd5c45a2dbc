/**
 * The slice of the WebAssembly JS API the CPU backend uses, typed here: the repository's TypeScript
 * setup has Node's types without the DOM's, and those carry no WebAssembly declarations.
 */

/** A compiled WebAssembly.Module (opaque). */
export type WasmModule = object;

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Module: new (bytes: ArrayBufferView | ArrayBuffer) => WasmModule;
  compile(bytes: ArrayBufferView | ArrayBuffer): Promise<WasmModule>;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
