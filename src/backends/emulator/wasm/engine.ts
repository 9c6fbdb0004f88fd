/**
 * The SIMD engine: one instance of the generated module (module.ts) over one
 * memory per emulator. Kernels get its exports at bind time and pass byte
 * offsets into that memory (every value buffer is a view of it).
 */
import { WebAssemblyApi, type WasmMemory } from "../../../util/wasm-api.js";
import { type SimdExports, simdModule } from "./module.js";

export type WasmEngine = SimdExports;

const PAGE = 65536;

let available: boolean | undefined;

/** Whether this runtime runs the module (WebAssembly with SIMD). */
export function simdAvailable(): boolean {
  if (available === undefined) {
    try {
      simdModule();
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

/** A memory of at least `bytes` and the module instantiated over it. */
export function instantiate(bytes: number): { memory: WasmMemory; engine: WasmEngine } {
  const memory = new WebAssemblyApi!.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
  const instance = new WebAssemblyApi!.Instance(simdModule(), { env: { memory } });
  return { memory, engine: instance.exports as unknown as WasmEngine };
}
