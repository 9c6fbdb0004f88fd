/**
 * The emulator's entry points: run an integer Program bit-exactly on a batch
 * of float inputs (quantized at the boundary with the program's own
 * QuantizeLinear) or of already-quantized integer inputs.
 *
 * Batches are cut into chunks of at most `chunk` samples (default 64) run by
 * one compiled Emulator (cached per program and chunk size), so memory stays
 * bounded whatever the batch; a last partial chunk is padded (zeros, or the
 * zero point for integer feeds) and its padding discarded. Samples never
 * interact, so the chunking does not change a single bit.
 */
import { type Program, sampleSize } from "../../integer/program.js";
import { clampInt, intMax, intMin } from "../../numerics/int.js";
import type { IntegerBackend } from "../contract.js";
import { checkEmulator, EMULATOR_BACKEND } from "./check.js";
import { Emulator, type EmulatorOptions, type EmulatorResult } from "./emulator.js";

export type { EmulatorOptions, EmulatorResult, ValueRange } from "./emulator.js";
export { Emulator } from "./emulator.js";

export interface RunOptions extends EmulatorOptions {
  /** Samples per compiled run (default 64). */
  readonly chunk?: number;
}

export const DEFAULT_CHUNK = 64;
const CACHE_PER_PROGRAM = 4;
const cache = new WeakMap<Program, Map<string, Emulator>>();

/** A compiled emulator for `batch` samples, cached per program unless assertRanges is set. */
export function emulatorFor(p: Program, batch: number, opts: EmulatorOptions = {}): Emulator {
  if (opts.assertRanges) return Emulator.compile(p, batch, opts);
  const key = `${batch}/${opts.simd ?? "auto"}`;
  let m = cache.get(p);
  if (!m) {
    m = new Map();
    cache.set(p, m);
  }
  let e = m.get(key);
  if (!e) {
    e = Emulator.compile(p, batch, opts);
    if (m.size >= CACHE_PER_PROGRAM) m.delete(m.keys().next().value!);
    m.set(key, e);
  }
  return e;
}

function runChunks<T extends Float32Array | Int32Array>(
  p: Program,
  feeds: ReadonlyMap<string, T>,
  batch: number,
  opts: RunOptions,
  sizes: ReadonlyMap<string, number>,
  pad: (input: string) => number,
  make: (n: number) => T,
  run: (e: Emulator, chunkFeeds: Map<string, T>) => EmulatorResult,
): EmulatorResult {
  if (!Number.isInteger(batch) || batch < 0) throw new RangeError(`batch ${batch} must be a non-negative integer`);
  for (const [name, size] of sizes) {
    const x = feeds.get(name);
    if (!x) throw new Error(`emulator: no feed for input '${name}'`);
    if (x.length !== batch * size) throw new Error(`emulator: input '${name}' has ${x.length} elements, expected ${batch * size} (${batch} samples of ${size})`);
  }
  const outSizes = new Map(p.outputs.map((o) => [o.name, sampleSize(o.shape)]));
  if (batch === 0) {
    return {
      outputs: new Map([...outSizes.keys()].map((n) => [n, new Float32Array(0)])),
      ints: new Map([...outSizes.keys()].map((n) => [n, new Int32Array(0)])),
    };
  }
  const chunk = Math.min(batch, opts.chunk ?? DEFAULT_CHUNK);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunk ${opts.chunk} must be a positive integer`);
  const e = emulatorFor(p, chunk, opts);
  if (chunk === batch) return run(e, new Map(feeds));
  const outputs = new Map([...outSizes].map(([n, s]) => [n, new Float32Array(batch * s)]));
  const ints = new Map([...outSizes].map(([n, s]) => [n, new Int32Array(batch * s)]));
  for (let start = 0; start < batch; start += chunk) {
    const n = Math.min(chunk, batch - start);
    const chunkFeeds = new Map<string, T>();
    for (const [name, size] of sizes) {
      const x = feeds.get(name)!;
      if (n === chunk) {
        chunkFeeds.set(name, x.subarray(start * size, (start + n) * size) as T);
      } else {
        const padded = make(chunk * size);
        padded.set(x.subarray(start * size, (start + n) * size));
        padded.fill(pad(name), n * size);
        chunkFeeds.set(name, padded);
      }
    }
    const r = run(e, chunkFeeds);
    for (const [name, s] of outSizes) {
      outputs.get(name)!.set(r.outputs.get(name)!.subarray(0, n * s), start * s);
      ints.get(name)!.set(r.ints.get(name)!.subarray(0, n * s), start * s);
    }
  }
  return { outputs, ints };
}

/**
 * Runs `batch` samples of float inputs (by program input name, NCHW, batch ×
 * sample size each). `outputs` are the dequantized floats (ONNX
 * DequantizeLinear), `ints` the integers before each output's dequantize.
 */
export function runProgram(p: Program, feeds: ReadonlyMap<string, Float32Array>, batch: number, opts: RunOptions = {}): EmulatorResult {
  const sizes = new Map(p.inputs.map((io) => [io.name, sampleSize(io.shape)]));
  return runChunks(
    p,
    feeds,
    batch,
    opts,
    sizes,
    () => 0,
    (n) => new Float32Array(n),
    (e, f) => e.run(f),
  );
}

/** Runs `batch` samples from already-quantized inputs, keyed by program input name (the quantize ops' output values). */
export function runProgramInt(p: Program, intFeeds: ReadonlyMap<string, Int32Array>, batch: number, opts: RunOptions = {}): EmulatorResult {
  const quantOf = new Map<string, string>();
  for (const op of p.ops) if (op.kind === "quantize") quantOf.set(op.input, op.output);
  const sizes = new Map(p.inputs.map((io) => [io.name, sampleSize(io.shape)]));
  const pad = (input: string) => {
    const v = p.values.get(quantOf.get(input) ?? "");
    return v ? clampInt(v.zeroPoint ?? 0, intMin(v.type), intMax(v.type)) : 0;
  };
  return runChunks(
    p,
    intFeeds,
    batch,
    opts,
    sizes,
    pad,
    (n) => new Int32Array(n),
    (e, f) => e.runInt(f),
  );
}

/** The emulator under the common contract: `emit` compiles the program for `batch` samples (default DEFAULT_CHUNK). */
export const emulatorBackend: IntegerBackend<EmulatorOptions & { readonly batch?: number }, Emulator> = {
  name: EMULATOR_BACKEND,
  check: checkEmulator,
  emit: (p, opts = {}) => Emulator.compile(p, opts.batch ?? DEFAULT_CHUNK, opts),
};
