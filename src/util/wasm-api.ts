/**
 * The slice of the WebAssembly JS API fixq uses (the emulator's SIMD engine,
 * learned rounding's float64 tiles), typed here because the project's
 * TypeScript libs (es2023, no DOM) do not declare it.
 */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Adds `pages` pages of 64 KiB; views of the old buffer detach. */
  grow(pages: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

export const WebAssemblyApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
