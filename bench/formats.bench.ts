/**
 * `npm run bench:formats`: encode (float32 → code) and decode (code → float32)
 * throughput of every float format in src/numerics, in million elements per
 * second on a 16M-element array, next to ONNX Runtime's Cast on the same
 * array, measured in the same run: FIXQ_BENCH_REPS rounds (default 7) after
 * a warm-up, each timing fixq encode, fixq decode and the ORT runs below in
 * turn, and the fastest of each (the least disturbed by other load).
 *
 * ORT runs one intra-op thread (fixq's codecs are single-threaded JS) with
 * graph optimizations disabled, so nothing is folded away:
 *   decode: the codes (fixq's own encoding of x) as an initializer →
 *           Cast(FLOAT) → a pre-allocated Float32Array output.
 *   round trip: x → Cast(to) → Cast(FLOAT) → a pre-allocated output.
 *   encode: FP16: x → Cast(FLOAT16) → a pre-allocated output. Others: the
 *           fastest round trip minus the fastest decode. onnxruntime-node
 *           cannot return FP8, E8M0 or BF16 tensors, and ORT's Shape, Size,
 *           Slice and Gather take no FP8 input, so their encode cannot be
 *           timed alone; the "round-trip ratio" column, (ORT round trip) ÷
 *           (fixq encode + decode), needs no subtraction and cross-checks it.
 * Both fixq sides also write into pre-allocated arrays. FP4 and FP6 have no
 * ORT Cast on CPU: their ORT columns print "-". ratio = fixq ÷ ORT (> 1: fixq
 * faster). Inputs: standard normal values scaled to a quarter of the format's
 * max (E8M0: 2^(100·tanh z), positive, spread over 2^±100); every element is encoded fresh
 * each run.
 */
import { availableParallelism, loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { DataType } from "../src/ir/dtype.js";
import type { Graph, Model } from "../src/ir/graph.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { typeProtoOf } from "../src/ir/types.js";
import { allocCodes, decodeFloats, encodeFloats, FLOAT_FORMATS, type FloatFormat } from "../src/numerics/index.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("formats");

const N = Number(process.env["FIXQ_BENCH_N"] ?? 16 * 2 ** 20);
const REPS = Number(process.env["FIXQ_BENCH_REPS"] ?? 7);
const ORT_TYPES = new Set<number>([
  DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ,
  DataType.FLOAT8E5M2,
  DataType.FLOAT8E5M2FNUZ,
  DataType.FLOAT8E8M0,
  DataType.FLOAT16,
  DataType.BFLOAT16,
]);

/** The fastest run: on a shared machine the least disturbed one. */
function fastest(xs: number[]): number {
  return Math.min(...xs);
}

async function timeMs(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Seeded standard normal values (xorshift32 + Box–Muller). */
function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 1) / 4294967297;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function inputsFor(fmt: FloatFormat, z: Float32Array, x: Float32Array): void {
  if (fmt.specials === "e8m0") for (let i = 0; i < z.length; i++) x[i] = 2 ** (100 * Math.tanh(z[i]!));
  else {
    const k = Math.min(fmt.max / 4, 1e30);
    for (let i = 0; i < z.length; i++) x[i] = z[i]! * k;
  }
}

function modelOf(g: Graph, fmt: FloatFormat): Model {
  const e8m0 = fmt.onnxType === DataType.FLOAT8E8M0;
  return { irVersion: e8m0 ? 11 : 9, opsets: [{ domain: "", version: e8m0 ? 24 : 19 }], graph: g, functions: [] };
}

const OPTS: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: "disabled", intraOpNumThreads: 1, interOpNumThreads: 1 };

/** A model run repeatedly, writing into a pre-allocated output. */
interface OrtRun {
  run(): Promise<unknown>;
  release(): Promise<void>;
}

async function ortRun(g: Graph, fmt: FloatFormat, feeds: Record<string, ort.Tensor>, out: ort.Tensor): Promise<OrtRun> {
  const s = await ort.InferenceSession.create(encodeModel(modelOf(g, fmt)), OPTS);
  const fetches = { [g.outputs[0]!.name]: out };
  return { run: () => s.run(feeds, fetches), release: () => s.release() };
}

function castNode(input: string, output: string, to: number): Graph["nodes"][number] {
  return { opType: "Cast", inputs: [input], outputs: [output], attributes: [{ name: "to", type: 2, i: to }] };
}

function graphOf(nodes: Graph["nodes"], input: string | undefined, output: string, outType: number, initializers: Graph["initializers"] = []): Graph {
  return {
    name: "bench",
    nodes,
    inputs: input ? [{ name: input, type: typeProtoOf({ dtype: DataType.FLOAT, shape: ["N"] }) }] : [],
    outputs: [{ name: output, type: typeProtoOf({ dtype: outType, shape: ["N"] }) }],
    valueInfo: [],
    initializers,
  };
}

/**
 * The ORT sessions of one format: `dec` (codes initializer → FLOAT), `trip`
 * (x → `to` → FLOAT) and, for FP16 only, `enc` (x → FLOAT16: its codes come
 * back to JS).
 */
async function ortSessions(fmt: FloatFormat, x: Float32Array, codes: Uint8Array | Uint16Array): Promise<{ dec: OrtRun; trip: OrtRun; enc?: OrtRun }> {
  const n = x.length;
  const raw = new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength);
  const floatOut = new ort.Tensor("float32", new Float32Array(n), [n]);
  const xFeed = { x: new ort.Tensor("float32", x, [n]) };
  const dec = await ortRun(graphOf([castNode("c", "z", DataType.FLOAT)], undefined, "z", DataType.FLOAT, [{ name: "c", dtype: fmt.onnxType, dims: [n], raw }]), fmt, {}, floatOut);
  const trip = await ortRun(graphOf([castNode("x", "y", fmt.onnxType), castNode("y", "z", DataType.FLOAT)], "x", "z", DataType.FLOAT), fmt, xFeed, floatOut);
  if (fmt.onnxType !== DataType.FLOAT16) return { dec, trip };
  const enc = await ortRun(graphOf([castNode("x", "y", fmt.onnxType)], "x", "y", fmt.onnxType), fmt, xFeed, new ort.Tensor("float16", new Uint16Array(n), [n]));
  return { dec, trip, enc };
}

interface Row {
  format: string;
  encode: number;
  ortEncode: number | null;
  encodeRatio: number | null;
  decode: number;
  ortDecode: number | null;
  decodeRatio: number | null;
  /** (ORT x → to → FLOAT) ÷ (fixq encode + decode), times: measured directly, no subtraction. */
  tripRatio: number | null;
}

ort.env.logLevel = "error";
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${availableParallelism()} CPUs; N = ${N}; ${REPS} reps; ORT 1 thread, optimizations disabled`);
const z = normals(N, 12345);
const x = new Float32Array(N);
const back = new Float32Array(N);
const melps = (ms: number) => N / ms / 1e3;
const rows: Row[] = [];
for (const fmt of FLOAT_FORMATS) {
  inputsFor(fmt, z, x);
  const codes = allocCodes(fmt, N);
  encodeFloats(fmt, x, undefined, codes);
  const sessions = ORT_TYPES.has(fmt.onnxType) ? await ortSessions(fmt, x, codes) : undefined;
  // one warm-up round, then REPS rounds of every measurement, interleaved
  const t = { enc: [] as number[], dec: [] as number[], ortEnc: [] as number[], ortDec: [] as number[], ortTrip: [] as number[] };
  for (let r = 0; r <= REPS; r++) {
    const times = [
      await timeMs(() => encodeFloats(fmt, x, undefined, codes)),
      await timeMs(() => decodeFloats(fmt, codes, back)),
      sessions ? await timeMs(() => sessions.dec.run()) : 0,
      sessions ? await timeMs(() => sessions.trip.run()) : 0,
      sessions?.enc ? await timeMs(() => sessions.enc!.run()) : 0,
    ];
    if (r === 0) continue;
    t.enc.push(times[0]!);
    t.dec.push(times[1]!);
    t.ortDec.push(times[2]!);
    t.ortTrip.push(times[3]!);
    t.ortEnc.push(times[4]!);
  }
  if (sessions) await Promise.all([sessions.dec.release(), sessions.trip.release(), sessions.enc?.release()]);
  const enc = fastest(t.enc);
  const dec = fastest(t.dec);
  const ortDec = sessions ? fastest(t.ortDec) : null;
  const ortTrip = sessions ? fastest(t.ortTrip) : null;
  const ortEnc = !sessions ? null : sessions.enc ? fastest(t.ortEnc) : Math.max(ortTrip! - ortDec!, 1e-3);
  rows.push({
    format: fmt.name,
    encode: melps(enc),
    ortEncode: ortEnc === null ? null : melps(ortEnc),
    encodeRatio: ortEnc === null ? null : ortEnc / enc,
    decode: melps(dec),
    ortDecode: ortDec === null ? null : melps(ortDec),
    decodeRatio: ortDec === null ? null : ortDec / dec,
    tripRatio: ortTrip === null ? null : ortTrip / (enc + dec),
  });
}

const num = (v: number | null, digits = 0) => (v === null ? "-" : v.toFixed(digits));
const header = ["format", "encode Mel/s", "ORT", "ratio", "decode Mel/s", "ORT", "ratio", "round-trip ratio"];
const table = rows.map((r) => [
  r.format,
  num(r.encode),
  num(r.ortEncode),
  num(r.encodeRatio, 2),
  num(r.decode),
  num(r.ortDecode),
  num(r.decodeRatio, 2),
  num(r.tripRatio, 2),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(line(header));
for (const t of table) console.log(line(t));
const fp8 = rows.filter((r) => r.format.startsWith("fp8"));
console.log(`FP8 encode ratio (goal ≥ 1.0): min ${Math.min(...fp8.map((r) => r.encodeRatio!)).toFixed(2)}`);
const round = (v: number | null, d: number) => (v === null ? null : +v.toFixed(d));
console.log(
  `BENCH_FORMATS ${JSON.stringify({
    n: N,
    reps: REPS,
    rows: rows.map((r) => ({
      format: r.format,
      encodeMelps: round(r.encode, 1),
      ortEncodeMelps: round(r.ortEncode, 1),
      encodeRatio: round(r.encodeRatio, 3),
      decodeMelps: round(r.decode, 1),
      ortDecodeMelps: round(r.ortDecode, 1),
      decodeRatio: round(r.decodeRatio, 3),
      roundTripRatio: round(r.tripRatio, 3),
    })),
  })}`,
);
