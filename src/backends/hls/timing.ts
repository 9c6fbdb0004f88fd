/**
 * Latency, throughput and memory ESTIMATES of the HLS design (`--report`,
 * `timing` in `--json`), from the loops and pragmas the code has, not from
 * synthesis (no Vitis here). Per layer (every op the top function runs):
 *   trips      the trip count of its pipelined loop, per sample
 *   II asked   what its PIPELINE pragma requests
 *   II         the estimate: II asked, raised where one memory must serve more accesses
 *              per iteration than its 2 ports allow (a BRAM is dual-port):
 *                conv/dense (array form)  max(R, ⌈taps/2⌉, ⌈N/2⌉): the row's taps read from the
 *                                         input array, its N sums written to the output array
 *                matmul                   max(R, ⌈K/2⌉, ⌈N/2⌉): the row's K elements of a, its N
 *                                         sums written (the b block is local, partitioned)
 *                conv (line buffer)       max(R, ⌈KH·KW/2⌉): the window's pixels from the line
 *                                         buffer (partitioned by channel)
 *                others                   1
 *   depth      cycles one iteration takes: II + 5 for a row (its II-bound phase: the R reuse
 *              steps or the memory accesses; then read 1, multiply 3, write 1), 4 for the
 *              element loops (read, compute, clamp, write)
 *   cycles     one sample through the layer:
 *                conv/dense               (rows − 1)·II + depth = rows·II + 5
 *                matmul                   per head: the Load of b (K·N − 1 + 2, II 1), then its M rows
 *                                         (M − 1)·II + depth; trips: heads·(K·N + M)
 *                conv (line buffer)       H·W·C (reads, II 1) + rows·(II + 5 + N) (the row, then its N writes)
 *                requant                  outer·C·(inner − 1 + 4) (one pipelined loop per channel)
 *                rescale, moves           elements + 3 (concat: the sum of its inputs)
 *                pools                    C·OH·OW·(KH·KW + 2)
 *                transformer layers       timing-transformer.ts's loop model: II = 1 (the loop-carried
 *                                         dependencies are one-cycle adds and compares, no array
 *                                         takes over 2 accesses per iteration), each pipelined loop's
 *                                         fill paid per invocation; trips = innermost iterations
 * The design, at one clock per cycle:
 *   parallel   the layers run one after the other: latency = the input copies + Σ cycles + the
 *              output copies (elements + 2 each); interval (cycles between samples) = latency
 *   stream     each DATAFLOW process reads its inputs, runs, writes (stage = reads + cycles +
 *              writes; a line-buffered conv interleaves them: its cycles already count its reads
 *              and writes); interval = the slowest process; latency = the first process's
 *              reads + Σ over processes of (stage − reads): a process's reads overlap its
 *              producer's writes
 * Memory (bits): parallel: one static array per value (elements · its type's bits); stream: per
 * process its buffers (a buffered layer: its inputs and output; a line-buffered conv: L·C
 * input elements, line-buffer-plan.ts), and the FIFOs (depth = the value's elements per sample).
 */
import type { Certificate } from "../../integer/certify.js";
import { type ConvOp, type IntOp, opInputs, type Program, sampleSize } from "../../integer/program.js";
import { type HlsTypes, intTypeName } from "./hls-types.js";
import { lineBufferPlan } from "./line-buffer-plan.js";
import { isTransformerOp } from "../shared/transformer-c.js";
import { matmulShape } from "./matmul-shape.js";
import { type LayerResources, macShape } from "./resources.js";
import { COPY_DEPTH, transformerTiming } from "./timing-transformer.js";
import type { HlsIo } from "./top.js";

export interface LayerTiming {
  readonly source: string;
  readonly kind: IntOp["kind"];
  readonly trips: number;
  readonly iiRequested: number;
  readonly ii: number;
  readonly depth: number;
  readonly cycles: number;
  /** Stream: the DATAFLOW process's cycles per sample (reads + cycles + writes); parallel: cycles. */
  readonly stage: number;
  /** Memory the layer's code holds (see the file comment), bits. */
  readonly bufferBits: number;
  /** Stream convs: the line buffer's pixels (L). */
  readonly lineBufferPixels?: number;
}

export interface DesignTiming {
  readonly io: HlsIo;
  readonly layers: readonly LayerTiming[];
  /** Cycles from a sample's first input to its last output (an estimate). */
  readonly latency: number;
  /** Cycles between samples at full throughput (the slowest DATAFLOW process; parallel: the latency). */
  readonly interval: number;
  /** Memory: the layers' buffers plus, for stream, the FIFOs (bits). */
  readonly bufferBits: number;
  readonly fifoBits: number;
}

const ROW_EXTRA = 5;
const ELEM_DEPTH = 4;

/** Bits of a value's type in the design (accumulators: the certified width). */
function valueBits(p: Program, cert: Certificate, v: string, mode: HlsTypes): number {
  const row = cert.rows.find((r) => r.accumulator && r.value === v);
  const t = row ? { bits: row.width, signed: row.signed } : p.values.get(v)!.type;
  if (mode === "ap") return t.bits;
  return Number(/(\d+)_t$/.exec(intTypeName(t, "stdint"))![1]);
}

export function estimateTiming(p: Program, cert: Certificate, layers: readonly LayerResources[], io: HlsIo, mode: HlsTypes = "ap"): DesignTiming {
  const plan = new Map(layers.map((l) => [l.source, l]));
  const size = (v: string) => sampleSize(p.values.get(v)!.shape);
  const bits = (v: string) => size(v) * valueBits(p, cert, v, mode);
  const out: LayerTiming[] = [];
  for (const op of p.ops) {
    if (op.kind === "quantize" || op.kind === "dequantize") continue;
    const ins = opInputs(op);
    const reads = ins.reduce((s, v) => s + size(v), 0);
    const writes = size(op.output);
    let trips = writes;
    let iiRequested = 1;
    let ii = 1;
    let depth = ELEM_DEPTH;
    let cycles = writes + ELEM_DEPTH - 1;
    let stage = reads + cycles + writes;
    let bufferBits = io === "stream" ? ins.reduce((s, v) => s + bits(v), 0) + bits(op.output) : bits(op.output);
    let lineBufferPixels: number | undefined;
    if (op.kind === "conv" || op.kind === "dense") {
      const l = plan.get(op.source)!;
      const s = macShape(p, op);
      trips = s.rows;
      iiRequested = l.reuseFactor;
      if (io === "stream" && op.kind === "conv") {
        const lb = lineBufferPlan(p, op as ConvOp);
        const [, , KH, KW] = op.weightShape;
        ii = Math.max(l.reuseFactor, Math.ceil((KH * KW) / 2));
        depth = ii + ROW_EXTRA;
        cycles = reads + s.rows * (ii + ROW_EXTRA + s.n);
        stage = cycles;
        bufferBits = lb.pixels * lb.channels * valueBits(p, cert, op.input, mode);
        lineBufferPixels = lb.pixels;
      } else {
        ii = Math.max(l.reuseFactor, Math.ceil(s.taps / 2), Math.ceil(s.n / 2));
        depth = ii + ROW_EXTRA;
        cycles = (s.rows - 1) * ii + depth;
        stage = io === "stream" ? reads + cycles + writes : cycles;
      }
    } else if (op.kind === "matmul") {
      const l = plan.get(op.source);
      if (!l) throw new Error(`${op.source}: no reuse plan (estimateResources)`);
      const s = matmulShape(p, cert, op);
      iiRequested = l.reuseFactor;
      ii = Math.max(l.reuseFactor, Math.ceil(s.k / 2), Math.ceil(s.n / 2));
      depth = ii + ROW_EXTRA;
      trips = s.heads * (s.k * s.n + s.m);
      cycles = s.heads * (s.k * s.n - 1 + COPY_DEPTH + (s.m - 1) * ii + depth);
      stage = io === "stream" ? reads + cycles + writes : cycles;
    } else if (op.kind === "requant") {
      const shape = p.values.get(op.input)!.shape;
      const C = op.multipliers.length;
      const outer = C !== 1 ? shape.slice(0, op.axis).reduce((a, b) => a * b, 1) : 1;
      const inner = C !== 1 ? shape.slice(op.axis + 1).reduce((a, b) => a * b, 1) : writes;
      cycles = outer * C * (inner - 1 + ELEM_DEPTH);
      stage = io === "stream" ? reads + cycles + writes : cycles;
    } else if (op.kind === "sumpool" || op.kind === "maxpool") {
      const [C, OH, OW] = p.values.get(op.output)!.shape as [number, number, number];
      trips = C * OH * OW * op.kernel[0] * op.kernel[1];
      depth = 2;
      cycles = C * OH * OW * (op.kernel[0] * op.kernel[1] + 2);
      stage = io === "stream" ? reads + cycles + writes : cycles;
    } else if (isTransformerOp(op)) {
      const t = transformerTiming(p, op);
      trips = t.trips;
      depth = t.depth;
      cycles = t.cycles;
      stage = io === "stream" ? reads + cycles + writes : cycles;
    } else if (op.kind === "concat") {
      trips = reads;
      cycles = reads + ELEM_DEPTH - 1;
      stage = io === "stream" ? reads + cycles + writes : cycles;
    } else if (io === "parallel") {
      stage = cycles;
    }
    out.push({ source: op.source, kind: op.kind, trips, iiRequested, ii, depth, cycles, stage, bufferBits, ...(lineBufferPixels !== undefined ? { lineBufferPixels } : {}) });
  }
  const copies = [...p.inputs.map((x) => p.ops.find((o) => o.kind === "quantize" && o.input === x.name)!.output), ...p.ops.filter((o) => o.kind === "dequantize").map((o) => opInputs(o)[0]!)];
  const copyCycles = copies.map((v) => size(v) + 2);
  const bufferBits = out.reduce((s, l) => s + l.bufferBits, 0) + (io === "parallel" ? p.inputs.reduce((s, x) => s + bits(p.ops.find((o) => o.kind === "quantize" && o.input === x.name)!.output), 0) : 0);
  if (io === "parallel") {
    const latency = copyCycles.reduce((a, b) => a + b, 0) + out.reduce((s, l) => s + l.cycles, 0);
    return { io, layers: out, latency, interval: latency, bufferBits, fifoBits: 0 };
  }
  // stream: FIFOs, one per (value, reader), depth = the value's elements; the input and output processes copy
  let fifoBits = 0;
  for (const op of p.ops) if (op.kind !== "quantize" && op.kind !== "dequantize") for (const v of opInputs(op)) fifoBits += bits(v);
  for (const op of p.ops) if (op.kind === "dequantize") fifoBits += bits(opInputs(op)[0]!);
  const readsOf = (l: LayerTiming, op: IntOp) => (l.lineBufferPixels !== undefined ? 0 : opInputs(op).reduce((s, v) => s + size(v), 0));
  const ops = p.ops.filter((o) => o.kind !== "quantize" && o.kind !== "dequantize");
  const interval = Math.max(...out.map((l) => l.stage), ...copyCycles);
  const latency = copyCycles[0]! + out.reduce((s, l, k) => s + l.stage - readsOf(l, ops[k]!), 0) + copyCycles.slice(p.inputs.length).reduce((a, b) => a + b, 0);
  return { io, layers: out, latency, interval, bufferBits, fifoBits };
}

/** The report's timing table and the design's figures; `clockNs` turns cycles into time. */
export function formatTiming(t: DesignTiming, clockNs: number): string {
  const head = `${"layer".padEnd(40)} ${"kind".padEnd(9)} ${"trips".padStart(7)} ${"II asked".padStart(8)} ${"II est".padStart(6)} ${"depth".padStart(5)} ${"cycles".padStart(9)} ${(t.io === "stream" ? "stage" : "").padStart(9)} ${"buffer bits".padStart(11)}`;
  const line = (l: LayerTiming) =>
    `${l.source.padEnd(40).slice(0, 40)} ${l.kind.padEnd(9)} ${String(l.trips).padStart(7)} ${String(l.iiRequested).padStart(8)} ${String(l.ii).padStart(6)} ${String(l.depth).padStart(5)} ${String(l.cycles).padStart(9)} ${(t.io === "stream" ? String(l.stage) : "").padStart(9)} ${String(l.bufferBits).padStart(11)}${l.lineBufferPixels !== undefined ? ` (line buffer: ${l.lineBufferPixels} pixels)` : ""}`;
  const rate = 1e9 / (t.interval * clockNs);
  return [
    `HLS latency/throughput ESTIMATES (--io ${t.io}; loop model, not synthesis: II raised to the dual-port memory bound, cycles per layer per sample; see README)`,
    head,
    ...t.layers.map(line),
    `design: latency ${t.latency} cycles (${((t.latency * clockNs) / 1000).toFixed(1)} µs at ${clockNs} ns), interval ${t.interval} cycles (${t.io === "stream" ? "the slowest DATAFLOW process" : "layers one after the other"}) → ${rate.toFixed(0)} samples/s; memory ${t.bufferBits} bits in buffers${t.io === "stream" ? ` + ${t.fifoBits} bits in FIFOs (depth = one sample each)` : ""}`,
  ].join("\n");
}
