/**
 * What a kernel is: a function from one op of the integer program to a
 * prepared runner for a fixed batch size. Preparing happens once per
 * (program, batch): shapes are resolved, weights packed, index maps built.
 *
 * Kernels may reserve bytes in the emulator's memory at prepare time
 * (`reserve`, for packed weights, kept for the emulator's life) and a shared
 * scratch area (`scratch`, reused by every op); `bind` then receives the
 * memory (one ArrayBuffer, a WebAssembly memory when the SIMD engine is on)
 * and returns the runner.
 *
 * Every integer value buffer is followed by VALUE_SLACK (16) bytes the kernel
 * writing it may overwrite, and the memory ends with a 64-byte guard, so SIMD
 * kernels may store a row tail as a full vector (when later rows overwrite
 * the spill) and read a vector past the end of their input.
 */
import type { IntOpKind, Program, ProgramValue } from "../../integer/program.js";
import type { OpOf } from "../contract.js";
import type { WasmEngine } from "./wasm/engine.js";

/** A value buffer over the whole batch: Int32Array for integer values (Float64Array for int64 accumulators, exact below 2^53), Float32Array for float inputs and outputs. */
export type Buf = Int32Array | Float32Array | Float64Array;

/** Runs the op over the batch: reads `inputs` (in `opInputs` order), writes `out`. */
export type Runner = (inputs: readonly Buf[], out: Buf) => void;

/** The element range an op's output must stay in (assertRanges), checked before a possibly wrapping store. */
export interface CheckedRange {
  readonly lo: number;
  readonly hi: number;
  /** Throws the assertRanges error for output element `element` holding `value`. */
  fail(element: number, value: number): never;
}

export interface BoundMemory {
  readonly buffer: ArrayBuffer;
  /** Byte offset of the scratch area (see KernelContext.scratch). */
  readonly scratch: number;
  readonly wasm?: WasmEngine;
}

export interface KernelContext {
  readonly program: Program;
  readonly batch: number;
  /** A declared integer value (throws if missing). */
  value(name: string): ProgramValue;
  /** Per-sample shape of a float program input or output. */
  ioShape(name: string): readonly number[];
  /**
   * Set when assertRanges covers this op's output: kernels whose int32 result
   * could wrap (conv, dense) must then compute exactly and check every element
   * before storing it.
   */
  readonly range?: CheckedRange;
  /** Whether the WebAssembly SIMD engine is on (kernels then prefer it when their operands fit). */
  readonly simd: boolean;
  /** Reserves `bytes` (16-byte aligned) for the emulator's life; returns the byte offset. */
  reserve(bytes: number): number;
  /** Asks for `bytes` of scratch shared by all ops, found at `BoundMemory.scratch` when bound. */
  scratch(bytes: number): void;
}

export interface PreparedOp {
  /** The output shares the first input's buffer (reshape): nothing to run. */
  readonly alias?: boolean;
  bind(mem: BoundMemory): Runner;
}

export type { OpOf };
export type Kernel<K extends IntOpKind = IntOpKind> = (op: OpOf<K>, ctx: KernelContext) => PreparedOp;

/** A kernel without memory needs. */
export function plain(run: Runner): PreparedOp {
  return { bind: () => run };
}
