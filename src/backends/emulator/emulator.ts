/**
 * A compiled emulator: an integer Program prepared once for a fixed batch
 * size, then run on any number of batches.
 *
 * Memory is one buffer (a WebAssembly memory when the SIMD engine is on):
 *   [ reserved: packed weights, gather maps, multiplier tables | scratch | arena: value buffers ]
 * Every integer value is an Int32Array view (a Float64Array for an int64
 * accumulator, program.ts ACC64) of the arena at the offset
 * shared/memory-plan.ts gave it, so a value's bytes are reused once no later op reads it.
 * Each op runs its kernel (kernels/index.ts) over the whole batch. With
 * `assertRanges`, every listed value is checked after the op that writes
 * it (conv and dense check each accumulator exactly before storing it).
 */
import { type IntOp, integerOutputs, isWideValue, opInputs, type Program, type ProgramValue, sampleSize } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { type CheckOptions, refuseDiagnostics } from "../contract.js";
import { checkEmulator, EMULATOR_BACKEND } from "./check.js";
import type { BoundMemory, Buf, CheckedRange, KernelContext, PreparedOp, Runner } from "./kernel.js";
import { KERNELS } from "./kernels/index.js";
import { planArena } from "../shared/memory-plan.js";
import { instantiate, simdAvailable } from "./wasm/engine.js";

export interface ValueRange {
  readonly lo: number;
  readonly hi: number;
}

export interface EmulatorOptions {
  /** Debug check: after each op, every element of a listed value must lie in [lo, hi], else an Error names the op. */
  readonly assertRanges?: ReadonlyMap<string, ValueRange>;
  /** Run conv, dense and requant in WebAssembly SIMD where their operands fit (default: when available). */
  readonly simd?: boolean;
  /** Certified value ranges for the domain check (computed when needed and absent). */
  readonly ranges?: CheckOptions["ranges"];
}

export interface EmulatorResult {
  /** Dequantized float outputs, by program output name. */
  readonly outputs: Map<string, Float32Array>;
  /** The integers feeding each output's dequantize, by program output name. */
  readonly ints: Map<string, Int32Array>;
}

const ALIGN = 16;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function rangeError(op: IntOp, value: string, size: number, element: number, v: number, r: ValueRange): Error {
  const sample = Math.floor(element / size);
  return new Error(
    `assertRanges: ${op.source} (${op.kind}) wrote ${v} to '${value}' at sample ${sample}, element ${element - sample * size}, outside the certified range [${r.lo}, ${r.hi}]`,
  );
}

function checkRange(op: IntOp, value: string, size: number, buf: Int32Array | Float64Array, r: ValueRange): void {
  const { lo, hi } = r;
  for (let i = 0; i < buf.length; i++) {
    const v = buf[i]!;
    if (v < lo || v > hi) throw rangeError(op, value, size, i, v, r);
  }
}

interface Step {
  readonly op: IntOp;
  readonly run: Runner;
  readonly alias: boolean;
  readonly inputs: Buf[];
  readonly out?: Int32Array | Float64Array;
  readonly range?: ValueRange;
}

export class Emulator {
  private readonly steps: Step[];
  private readonly views: Map<string, Int32Array | Float64Array>;
  private readonly quantized: Map<string, string>;

  private constructor(
    readonly program: Program,
    readonly batch: number,
    readonly simd: boolean,
    /** Bytes of the emulator's memory (reserved + scratch + arena). */
    readonly memoryBytes: number,
    /** Largest sum of live value buffers after any op, in bytes. */
    readonly peakLiveBytes: number,
    steps: Step[],
    views: Map<string, Int32Array | Float64Array>,
    quantized: Map<string, string>,
  ) {
    this.steps = steps;
    this.views = views;
    this.quantized = quantized;
  }

  static compile(p: Program, batch: number, opts: EmulatorOptions = {}): Emulator {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`emulator batch ${batch} must be a positive integer`);
    refuseDiagnostics(EMULATOR_BACKEND, checkEmulator(p, opts));
    const simd = (opts.simd ?? true) && simdAvailable();
    const value = (name: string): ProgramValue => {
      const v = p.values.get(name);
      if (!v) throw new Error(`integer program: value '${name}' is not declared`);
      return v;
    };
    const ioShapes = new Map<string, readonly number[]>();
    for (const io of [...p.inputs, ...p.outputs]) ioShapes.set(io.name, io.shape);
    // Program inputs → the integer value their quantize writes (these are runProgramInt's feeds).
    const quantized = new Map<string, string>();
    const defined = new Set<string>();
    for (const op of p.ops) {
      for (const v of op.kind === "quantize" ? [] : opInputs(op)) {
        if (!defined.has(v)) throw new Error(`integer program: ${op.source} (${op.kind}) reads '${v}' before any op writes it`);
      }
      if (op.kind === "quantize") {
        if (!ioShapes.has(op.input)) throw new Error(`integer program: ${op.source} quantizes '${op.input}', which is not a program input`);
        if (quantized.has(op.input)) throw new Error(`integer program: input '${op.input}' is quantized twice`);
        quantized.set(op.input, op.output);
      }
      if (op.kind !== "dequantize") {
        value(op.output);
        defined.add(op.output);
      }
    }
    for (const io of p.inputs) if (!quantized.has(io.name)) throw new Error(`integer program: input '${io.name}' has no quantize op`);
    const keep = new Set(integerOutputs(p));
    const plan = planArena(p, batch, keep, [...quantized.values()]);

    let reserved = 0;
    let scratch = 0;
    const prepared: PreparedOp[] = p.ops.map((op) => {
      const r = op.kind === "dequantize" ? undefined : opts.assertRanges?.get(op.output);
      const out = op.kind === "dequantize" ? undefined : op.output;
      const size = out ? sampleSize(value(out).shape) : 1;
      const range: CheckedRange | undefined = r && {
        lo: r.lo,
        hi: r.hi,
        fail: (element: number, v: number): never => {
          throw rangeError(op, out!, size, element, v, r);
        },
      };
      const ctx: KernelContext = {
        program: p,
        batch,
        value,
        ioShape: (name) => {
          const s = ioShapes.get(name);
          if (!s) throw new Error(`integer program: '${name}' is not a program input or output`);
          return s;
        },
        range,
        simd,
        reserve: (bytes) => {
          const off = reserved;
          reserved += align(bytes);
          return off;
        },
        scratch: (bytes) => {
          scratch = Math.max(scratch, align(bytes));
        },
      };
      return (KERNELS[op.kind] as (op: IntOp, ctx: KernelContext) => PreparedOp)(op, ctx);
    });
    const arenaBase = reserved + scratch;
    // a guard after the arena: vector over-reads past the last value stay inside the memory
    const total = arenaBase + plan.bytes + 64;
    let mem: BoundMemory;
    if (simd) {
      const { memory, engine } = instantiate(total);
      mem = { buffer: memory.buffer, scratch: reserved, wasm: engine };
    } else {
      mem = { buffer: new ArrayBuffer(Math.max(total, ALIGN)), scratch: reserved };
    }
    const views = new Map<string, Int32Array | Float64Array>();
    for (const [name, off] of plan.offset) {
      const Ctor = isWideValue(p.values.get(name)) ? Float64Array : Int32Array;
      views.set(name, new Ctor(mem.buffer, arenaBase + off, plan.length.get(name)!));
    }
    const steps: Step[] = p.ops.map((op, i) => {
      const prep = prepared[i]!;
      return {
        op,
        run: prep.bind(mem),
        alias: prep.alias === true,
        inputs: op.kind === "quantize" ? [] : opInputs(op).map((v) => views.get(v)!),
        out: op.kind === "dequantize" ? undefined : views.get(op.output),
        range: op.kind === "dequantize" ? undefined : opts.assertRanges?.get(op.output),
      };
    });
    return new Emulator(p, batch, simd, total, plan.peakLiveBytes, steps, views, quantized);
  }

  /** Runs `batch` samples from float feeds (by program input name, batch × sample size each). */
  run(feeds: ReadonlyMap<string, Float32Array>): EmulatorResult {
    for (const io of this.program.inputs) {
      const x = feeds.get(io.name);
      if (!x) throw new Error(`emulator: no feed for input '${io.name}'`);
      const n = this.batch * sampleSize(io.shape);
      if (x.length !== n) throw new Error(`emulator: input '${io.name}' has ${x.length} elements, expected ${n} (${this.batch} × [${io.shape}])`);
    }
    return this.execute(feeds);
  }

  /** Runs `batch` samples from already-quantized inputs (by program input name; the values the quantize ops write). */
  runInt(intFeeds: ReadonlyMap<string, Int32Array>): EmulatorResult {
    for (const [input, name] of this.quantized) {
      const x = intFeeds.get(input);
      if (!x) throw new Error(`emulator: no integer feed for input '${input}'`);
      const view = this.views.get(name)!;
      if (x.length !== view.length) throw new Error(`emulator: integer input '${input}' has ${x.length} elements, expected ${view.length}`);
      const t = this.program.values.get(name)!.type;
      const lo = intMin(t);
      const hi = intMax(t);
      for (let i = 0; i < x.length; i++) {
        if (x[i]! < lo || x[i]! > hi) throw new Error(`emulator: integer input '${input}' element ${i} = ${x[i]} is outside its type's range [${lo}, ${hi}]`);
      }
      view.set(x);
    }
    return this.execute(undefined);
  }

  /** Milliseconds spent in each op over `reps` runs of `feeds` (for benches and profiling). */
  profile(feeds: ReadonlyMap<string, Float32Array>, reps: number): { op: IntOp; ms: number }[] {
    const ms = new Float64Array(this.steps.length);
    for (let r = 0; r < reps; r++) this.execute(feeds, ms);
    return this.steps.map((s, i) => ({ op: s.op, ms: ms[i]! }));
  }

  private execute(feeds: ReadonlyMap<string, Float32Array> | undefined, timing?: Float64Array): EmulatorResult {
    const outputs = new Map<string, Float32Array>();
    let k = -1;
    let t = timing ? performance.now() : 0;
    for (const s of this.steps) {
      if (timing) {
        const now = performance.now();
        if (k >= 0) timing[k] += now - t;
        t = now;
        k++;
      }
      const op = s.op;
      if (op.kind === "quantize") {
        if (feeds) s.run([feeds.get(op.input)!], s.out!);
      } else if (op.kind === "dequantize") {
        const out = new Float32Array(s.inputs[0]!.length);
        s.run(s.inputs, out);
        outputs.set(op.output, out);
        continue;
      } else if (!s.alias) {
        s.run(s.inputs, s.out!);
      }
      if (s.range) checkRange(op, op.output, s.out!.length / this.batch, s.out!, s.range);
    }
    if (timing && k >= 0) timing[k] += performance.now() - t;
    const ints = new Map<string, Int32Array>();
    for (const s of this.steps) {
      if (s.op.kind === "dequantize") ints.set(s.op.output, (s.inputs[0] as Int32Array).slice());
    }
    return { outputs, ints };
  }
}
