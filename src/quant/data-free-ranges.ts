/**
 * Data-free activation ranges: what calibration would measure, derived from
 * the graph alone (Nagel et al. 2019, §5, "data-free"). Per channel c of a
 * value, an interval [lo_c, hi_c]; a quantized tensor takes [min lo, max hi].
 *
 * - A value with BN statistics (graph.bnStats: y_c ~ N(β_c, γ_c²)):
 *   [β_c − n·|γ_c|, β_c + n·|γ_c|] with n = BN_RANGE_SIGMAS.
 * - A graph input: its given range (`inputRanges`: a body's outer-scope
 *   values), else the assumed input range (`inputRange`; for the bundled
 *   models pixels/255 lie in [0, 1]); without one, a value that needs it is
 *   refused.
 * - Relu, Clip, LeakyRelu, Sigmoid, Tanh: the function of the bounds (they
 *   are monotone). Softmax: [0, 1].
 * - Identity, Dropout, MaxPool, GlobalMaxPool, GlobalAveragePool, AveragePool
 *   (0 included when padding is counted): the input's intervals (max and mean
 *   of values in [lo, hi] stay in it).
 * - Add: lo_a + lo_b, hi_a + hi_b; Sub: lo_a − hi_b, hi_a − lo_b; Mul: the
 *   extremes of the four corner products (constants by their own extremes).
 * - Conv, Gemm, MatMul with a constant weight and no BN statistics on their
 *   output: interval arithmetic per output channel o,
 *     hi_o = α·(Σ_{w>0} w·hi_c + Σ_{w<0} w·lo_c) + b_o, lo_o likewise,
 *   with 0 added to every input interval when a conv pads (padding reads 0).
 * - Flatten(axis 1) with static dims keeps per-channel intervals (feature f
 *   is channel ⌊f/Πd⌋); Reshape, Transpose, Squeeze, Unsqueeze, Slice,
 *   Resize and Concat keep only the tensor's overall interval; so does a
 *   Gather of a constant table (an embedding: its rows lie within the table's
 *   extremes).
 * - Anything else is unknown; a quantized tensor that needs it is refused
 *   with its name and the reason. So is a tensor whose range would come from
 *   interval arithmetic through more than MAX_INTERVAL_LAYERS layers: such
 *   bounds compound layer by layer (a model whose BNs were folded away by
 *   its exporter has nothing else to go on, and is refused).
 *
 * Why n = 6: a BN output is about normal, and calibration's min/max over N
 * samples reaches about √(2 ln N) σ: 4.5σ for N = 10⁴ values of a channel,
 * 5.6σ for 10⁷. Real activations have heavier tails than a normal, so fewer
 * than 6σ clips the outliers that MinMax calibration would keep; more widens
 * every quantization step for nothing (a range 2nσ wide over 255 steps).
 * Measured on the bundled BN models (test/passes/data-free.test.ts): the
 * ranges come out 0.9–1.7× as wide as MinMax on the 512 calibration images
 * (median 1.0–1.2), except where BN statistics do not reach: a pooled tensor
 * keeps its input's range (2–3× MinMax), and the logits, bounded by interval
 * arithmetic through the classifier, are 5–9× as wide.
 */
import { FixqError } from "../ir/errors.js";
import type { Graph, Node, TensorType } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { clipBounds } from "../passes/chains.js";
import { GraphEdit } from "../passes/graph-edit.js";
import { readBias, readLayer, readWeights, weightLayout } from "../passes/layers.js";

/** n in β ± n·|γ|. */
export const BN_RANGE_SIGMAS = 6;

/**
 * At most this many layers of interval arithmetic between a known range and
 * a quantized tensor. One layer's bounds come out 5–9× as wide as calibrated
 * MinMax on the bundled models (the logits); a second compounds that to
 * tens of times, most of the 8 bits, so the tensor is refused instead (the
 * BN-folded bundled models would otherwise quantize to 10% top-1).
 */
export const MAX_INTERVAL_LAYERS = 1;

export interface DataFreeRangeOptions {
  /** The range of every graph input (assumed, never measured). */
  readonly inputRange?: readonly [number, number];
  /** Ranges of particular graph inputs, ahead of `inputRange` (a body's values read from an enclosing scope, derived there). */
  readonly inputRanges?: ReadonlyMap<string, { lo: number; hi: number }>;
  /** Why a graph input without a range has none (default: no --input-range given). */
  readonly noInputRange?: (input: string) => string;
  /** n in β ± n·|γ| (default BN_RANGE_SIGMAS). */
  readonly sigmas?: number;
}

export type RangeOrigin = "bn" | "input" | "interval";

export interface DataFreeRangesReport {
  readonly pass: "data-free-ranges";
  readonly sigmas: number;
  readonly inputRange: readonly [number, number] | null;
  /** Quantized tensors by where their range comes from: BN statistics (through activations, pooling and sums of such), the input range alone, or interval arithmetic through a layer without BN. */
  readonly fromBn: number;
  readonly fromInput: number;
  readonly fromIntervals: number;
}

/** Per-channel bounds (length 1: one interval for the whole tensor). */
interface Interval {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly origin: RangeOrigin | "constant";
  /** The layers without BN statistics this range went through by interval arithmetic (the longest such path). */
  readonly layers: readonly string[];
}

const one = (lo: number, hi: number, origin: Interval["origin"], layers: readonly string[] = []): Interval => ({ lo: Float64Array.of(lo), hi: Float64Array.of(hi), origin, layers });
const longer = (a: readonly string[], b: readonly string[]) => (b.length > a.length ? b : a);
const overall = (r: Interval): [number, number] => [Math.min(...r.lo), Math.max(...r.hi)];
const collapse = (r: Interval): Interval => one(...overall(r), r.origin, r.layers);
/** A constant operand leaves the origin as it is; mixing BN-derived with input-derived ranges counts as BN. */
const join = (a: Interval["origin"], b: Interval["origin"]): Interval["origin"] =>
  a === b || b === "constant" ? a : a === "constant" ? b : a === "interval" || b === "interval" ? "interval" : "bn";
const mapBounds = (r: Interval, f: (x: number) => number): Interval => ({ ...r, lo: r.lo.map(f), hi: r.hi.map(f) });
const isDefault = (n: Node) => (n.domain ?? "") === "" || n.domain === "ai.onnx";
const attr = (n: Node, name: string) => n.attributes.find((a) => a.name === name);

export function dataFreeRanges(g: Graph, needed: readonly string[], opts: DataFreeRangeOptions = {}): { ranges: Map<string, { lo: number; hi: number }>; report: DataFreeRangesReport } {
  const n = opts.sigmas ?? BN_RANGE_SIGMAS;
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  const known = new Map<string, Interval>();
  const unknown = new Map<string, string>();
  for (const v of g.inputs) {
    if (ed.constant(v.name)) continue;
    const given = opts.inputRanges?.get(v.name);
    if (given) known.set(v.name, one(given.lo, given.hi, "input"));
    else if (opts.inputRange) known.set(v.name, one(opts.inputRange[0], opts.inputRange[1], "input"));
    else unknown.set(v.name, opts.noInputRange?.(v.name) ?? `graph input '${v.name}' has no assumed range (give --input-range LO,HI)`);
  }
  const get = (v: string): Interval | string => constantInterval(ed, v) ?? known.get(v) ?? unknown.get(v) ?? `'${v}' has no derivable range`;
  for (let i = 0; i < ed.nodeCount; i++) {
    const node = ed.node(i)!;
    const y = node.outputs[0] ?? "";
    const stats = ed.bnStats(y);
    const out: Interval | string = stats
      ? { lo: stats.beta.map((b, c) => b - n * Math.abs(stats.gamma[c]!)), hi: stats.beta.map((b, c) => b + n * Math.abs(stats.gamma[c]!)), origin: "bn", layers: [] }
      : isDefault(node)
        ? rangeStep(ed, types, i, node, get)
        : `${node.opType} (domain ${node.domain}) is not modelled`;
    if (typeof out === "string") unknown.set(y, out);
    else known.set(y, out);
  }
  const ranges = new Map<string, { lo: number; hi: number }>();
  const count = { bn: 0, input: 0, interval: 0 };
  for (const v of needed) {
    const r = get(v);
    if (typeof r === "string") throw new FixqError("unsupported", `data-free: no range for '${v}': ${r}`);
    if (r.layers.length > MAX_INTERVAL_LAYERS) {
      const why = `interval arithmetic through ${r.layers.length} layers without BN statistics (${r.layers.join(", ")}) compounds into a useless range`;
      throw new FixqError("unsupported", `data-free: no range for '${v}': ${why}; calibrate it, or quantize the model with its BatchNormalization kept`);
    }
    const [lo, hi] = overall(r);
    ranges.set(v, { lo, hi });
    count[r.origin === "constant" ? "interval" : r.origin]++;
  }
  const report: DataFreeRangesReport = { pass: "data-free-ranges", sigmas: n, inputRange: opts.inputRange ?? null, fromBn: count.bn, fromInput: count.input, fromIntervals: count.interval };
  return { ranges, report };
}

/** A float constant: per channel when its dims are [C, 1, …] or [1, C, 1, …] (axis 1 of an NC… tensor), else its extremes. */
function constantInterval(ed: GraphEdit, v: string): Interval | undefined {
  const c = ed.floats(v);
  if (!c) return undefined;
  const dims = ed.constantThrough(v)!.dims.map(Number);
  const lead = dims[0] === 1 && dims.length >= 2 ? dims.slice(1) : dims;
  const perChannel = lead.length >= 2 && lead.slice(1).every((d) => d === 1) && c.length > 1;
  return perChannel ? { lo: c, hi: c, origin: "constant", layers: [] } : one(Math.min(...c), Math.max(...c), "constant");
}

function rangeStep(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, i: number, n: Node, get: (v: string) => Interval | string): Interval | string {
  const x = get(n.inputs[0] ?? "");
  const withX = (f: (r: Interval) => Interval | string) => (typeof x === "string" ? x : f(x));
  switch (n.opType) {
    case "Identity":
    case "Dropout":
    case "MaxPool":
    case "GlobalMaxPool":
    case "GlobalAveragePool":
      return x;
    case "AveragePool":
      return withX((r) => (Number(attr(n, "count_include_pad")?.i ?? 0) === 1 ? { ...r, lo: r.lo.map((v) => Math.min(v, 0)), hi: r.hi.map((v) => Math.max(v, 0)) } : r));
    case "Relu":
      return withX((r) => mapBounds(r, (v) => Math.max(v, 0)));
    case "Clip": {
      const b = clipBounds(ed, n);
      if (!b) return `Clip '${n.outputs[0]}' has non-constant bounds`;
      return withX((r) => mapBounds(r, (v) => Math.min(b.hi, Math.max(b.lo, v))));
    }
    case "LeakyRelu": {
      const s = attr(n, "alpha")?.f ?? 0.01;
      return withX((r) => mapBounds(r, (v) => (v < 0 ? s * v : v)));
    }
    case "Sigmoid":
      return withX((r) => mapBounds(r, (v) => 1 / (1 + Math.exp(-v))));
    case "Tanh":
      return withX((r) => mapBounds(r, Math.tanh));
    case "Softmax":
      return withX((r) => one(0, 1, r.origin, r.layers));
    case "Reshape":
    case "Transpose":
    case "Squeeze":
    case "Unsqueeze":
    case "Slice":
    case "Resize":
      return withX(collapse);
    case "Flatten":
      return withX((r) => flatten(types, n, r));
    case "Concat": {
      const parts = n.inputs.filter(Boolean).map(get);
      const bad = parts.find((p): p is string => typeof p === "string");
      if (bad) return bad;
      const rs = (parts as Interval[]).map(overall);
      const ps = parts as Interval[];
      return one(Math.min(...rs.map((r) => r[0])), Math.max(...rs.map((r) => r[1])), ps.map((p) => p.origin).reduce(join), ps.map((p) => p.layers).reduce(longer));
    }
    case "Add":
    case "Sub":
    case "Mul":
      return binary(n.opType, get(n.inputs[0] ?? ""), get(n.inputs[1] ?? ""));
    case "Conv":
    case "Gemm":
    case "MatMul":
      return withX((r) => layerInterval(ed, types, i, r));
    case "Gather":
      // rows of a constant table (an embedding) lie within the table's extremes
      return ed.floats(n.inputs[0] ?? "") ? withX(collapse) : `Gather '${n.outputs[0]}' reads computed data`;
    default:
      return `${n.opType} is not modelled`;
  }
}

function flatten(types: ReadonlyMap<string, TensorType>, n: Node, r: Interval): Interval {
  const spatial = types.get(n.inputs[0] ?? "")?.shape?.slice(2);
  if (r.lo.length === 1 || Number(attr(n, "axis")?.i ?? 1) !== 1 || !spatial || spatial.some((d) => typeof d !== "number")) return collapse(r);
  const per = (spatial as number[]).reduce((a, b) => a * b, 1);
  const expand = (a: Float64Array) => Float64Array.from({ length: a.length * per }, (_, f) => a[Math.floor(f / per)]!);
  return { ...r, lo: expand(r.lo), hi: expand(r.hi) };
}

function binary(op: string, a: Interval | string, b: Interval | string): Interval | string {
  if (typeof a === "string") return a;
  if (typeof b === "string") return b;
  if (a.lo.length !== b.lo.length && a.lo.length !== 1 && b.lo.length !== 1) [a, b] = [collapse(a), collapse(b)];
  const len = Math.max(a.lo.length, b.lo.length);
  const at = (r: Interval, c: number): [number, number] => (r.lo.length === 1 ? [r.lo[0]!, r.hi[0]!] : [r.lo[c]!, r.hi[c]!]);
  const lo = new Float64Array(len);
  const hi = new Float64Array(len);
  for (let c = 0; c < len; c++) {
    const [[al, ah], [bl, bh]] = [at(a, c), at(b, c)];
    if (op === "Add") [lo[c], hi[c]] = [al + bl, ah + bh];
    else if (op === "Sub") [lo[c], hi[c]] = [al - bh, ah - bl];
    else {
      const p = [al * bl, al * bh, ah * bl, ah * bh];
      [lo[c], hi[c]] = [Math.min(...p), Math.max(...p)];
    }
  }
  return { lo, hi, origin: join(a.origin, b.origin), layers: longer(a.layers, b.layers) };
}

/** Interval arithmetic through a linear layer (its own bias input included; a following bias Add is its own node). */
function layerInterval(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, i: number, x: Interval): Interval | string {
  const l = readLayer(ed, types, i);
  if ("reason" in l) return `${ed.label(i)}: ${l.reason}`;
  const n = ed.node(i)!;
  const padded = l.kind === "Conv" && ((attr(n, "pads")?.ints ?? []).some((p) => Number(p) !== 0) || /^SAME/.test(new TextDecoder().decode(attr(n, "auto_pad")?.s ?? new Uint8Array())));
  const perChannel = x.lo.length === l.inChannels && l.inAxis === 1 && x.lo.length > 1;
  const [xl, xh] = overall(x);
  const lo = (c: number) => (perChannel ? x.lo[c]! : xl);
  const hi = (c: number) => (perChannel ? x.hi[c]! : xh);
  const w = readWeights(ed, l);
  const layout = weightLayout(ed, l);
  const bias = l.bias?.source === "input" ? readBias(ed, l) : new Float64Array(l.outChannels);
  const outLo = new Float64Array(l.outChannels);
  const outHi = new Float64Array(l.outChannels);
  for (let k = 0; k < w.length; k++) {
    const c = layout.in[k]!;
    const [a, b] = padded ? [Math.min(lo(c), 0), Math.max(hi(c), 0)] : [lo(c), hi(c)];
    const wk = l.alpha * w[k]!;
    const o = layout.out[k]!;
    outLo[o] = outLo[o]! + (wk > 0 ? wk * a : wk * b);
    outHi[o] = outHi[o]! + (wk > 0 ? wk * b : wk * a);
  }
  for (let o = 0; o < l.outChannels; o++) [outLo[o], outHi[o]] = [outLo[o]! + bias[o]!, outHi[o]! + bias[o]!];
  // A MatMul's channels are on its last axis: keep only the overall interval for what follows.
  const r: Interval = { lo: outLo, hi: outHi, origin: "interval", layers: [...x.layers, l.name] };
  return l.outAxis === 1 ? r : collapse(r);
}
