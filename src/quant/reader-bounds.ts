/**
 * Reader bounds: the interval [A, B] of a tensor's values that its readers
 * can tell apart. Outside it every reader's output is what it would be at the
 * nearer end, so the activation range can be clamped to it without changing
 * the model's function, and the freed levels go where the values matter:
 *
 *   range' = [min(0, max(lo, A)), max(0, min(hi, B))]      (0 stays exact)
 *
 * Per reader n of v, an interval [a, b] with n(v) = n(clamp(v, a, b)):
 * - Relu: [0, ∞); Clip(p, q) with constant bounds: [p, q];
 * - HardSigmoid(α > 0, β): [−β/α, (1 − β)/α]; HardSwish: [−3, 3·∞) = [−3, ∞);
 * - Add/Sub of a scalar constant c, Mul/Div by a positive scalar constant k:
 *   the output's own reader bounds w = [a', b'] mapped back through the
 *   affine map (Add: [a' − c, b' − c]; Mul: [a'/k, b'/k]; and so on);
 * - Mul(v, g) with g = G(v) a gate that is exactly 0 for every v ≤ t: G is a
 *   chain from v of Add/Sub/Mul/Div by scalar constants (an increasing affine
 *   map f(v) = α·v + β, α > 0) ending in Relu, Clip(0, q) or HardSigmoid,
 *   optionally scaled by a positive constant after it. Then v·G(v) = 0 for
 *   v ≤ t = −β/α (HardSigmoid: (−β_h/α_h − β)/α), and clamping v at t gives
 *   t·G(t) = t·0 = 0: [t, ∞). This is hard-swish as exported op by op,
 *   x·Clip(x + 3, 0, 6)/6 (PP-LCNet, MobileNetV3), whose input's range often
 *   reaches far below −3 (PaddleOCR rec: down to −37 against a maximum of 42).
 * - any other reader, a graph output or a read inside a subgraph: (−∞, ∞).
 * The tensor's interval is the hull of its readers' ([min a, max b]): each
 * reader's interval lies inside it, so clamp(clamp(v, A, B), a, b) =
 * clamp(v, a, b) and every reader sees what it saw.
 *
 * With quantization, the clamped end is a level of the grid up to the zero
 * point's rounding; a gate's 0 is exact on every grid (0 is always a level).
 * Calibration chooses each range for the clamped values (calib/range.ts
 * `bounds`), so clipping methods (mse) spend no error on values no reader
 * sees; data-free ranges are clamped after they are derived.
 */
import { attrFloat, isDefaultDomain } from "../ir/attrs.js";
import type { Graph } from "../ir/graph.js";
import { clipBounds } from "../passes/chains.js";
import { GraphEdit } from "../passes/graph-edit.js";

export interface Interval {
  lo: number;
  hi: number;
}

const ALL: Interval = { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY };
/** How many Add/Mul links a bound is followed through before giving up. */
const MAX_DEPTH = 8;

/** The scalar constant operand of a two-input node and the other operand, or undefined. */
function scalarOperand(ed: GraphEdit, inputs: readonly string[], constantSlots: readonly number[]): { c: number; x: string; slot: number } | undefined {
  if (inputs.length !== 2) return undefined;
  for (const k of constantSlots) {
    const f = ed.floats(inputs[k]!);
    const x = inputs[1 - k]!;
    if (f && f.length === 1 && Number.isFinite(f[0]!) && !ed.constantThrough(x)) return { c: f[0]!, x, slot: k };
  }
  return undefined;
}

/** An increasing affine link y = α·x + β (α > 0) of node `i` from its input `x`, or undefined. */
function affineLink(ed: GraphEdit, i: number, x: string): { alpha: number; beta: number } | undefined {
  const n = ed.node(i)!;
  if (!isDefaultDomain(n)) return undefined;
  const s = scalarOperand(ed, n.inputs, n.opType === "Add" || n.opType === "Mul" ? [0, 1] : n.opType === "Sub" || n.opType === "Div" ? [1] : []);
  if (!s || s.x !== x) return undefined;
  switch (n.opType) {
    case "Add":
      return { alpha: 1, beta: s.c };
    case "Sub":
      return { alpha: 1, beta: -s.c };
    case "Mul":
      return s.c > 0 ? { alpha: s.c, beta: 0 } : undefined;
    case "Div":
      return s.c > 0 ? { alpha: 1 / s.c, beta: 0 } : undefined;
    default:
      return undefined;
  }
}

/** The interval reader `i` can tell apart of its input `v`. */
function readerInterval(ed: GraphEdit, i: number, v: string, depth: number): Interval {
  const n = ed.node(i)!;
  if (!isDefaultDomain(n)) return ALL;
  switch (n.opType) {
    case "Relu":
      return { lo: 0, hi: Number.POSITIVE_INFINITY };
    case "Clip":
      return n.inputs[0] === v ? (clipBounds(ed, n) ?? ALL) : ALL;
    case "HardSigmoid": {
      const alpha = attrFloat(n, "alpha", 0.2);
      const beta = attrFloat(n, "beta", 0.5);
      return alpha > 0 ? { lo: -beta / alpha, hi: (1 - beta) / alpha } : ALL;
    }
    case "HardSwish":
      return { lo: -3, hi: Number.POSITIVE_INFINITY };
  }
  const link = affineLink(ed, i, v);
  if (link && depth < MAX_DEPTH) {
    const w = valueInterval(ed, n.outputs[0]!, depth + 1);
    return { lo: (w.lo - link.beta) / link.alpha, hi: (w.hi - link.beta) / link.alpha };
  }
  if (n.opType === "Mul" && n.inputs.length === 2 && n.inputs[0] !== n.inputs[1]) {
    const g = n.inputs[0] === v ? n.inputs[1]! : n.inputs[0]!;
    const t = gateZero(ed, g, v);
    if (t !== undefined) return { lo: t, hi: Number.POSITIVE_INFINITY };
  }
  return ALL;
}

/**
 * The threshold t with g = 0 for every v ≤ t, when g is a gate of v: a
 * positive scaling of Relu, Clip(0, q) or HardSigmoid of an increasing
 * affine function of v (see the module comment); undefined otherwise.
 */
function gateZero(ed: GraphEdit, g: string, v: string): number | undefined {
  let p = ed.producer(g);
  // A positive scale after the gate keeps its zeros.
  for (let k = 0; k < MAX_DEPTH && p !== undefined; k++) {
    const n = ed.node(p)!;
    const s = n.opType === "Mul" || n.opType === "Div" ? scalarOperand(ed, n.inputs, n.opType === "Mul" ? [0, 1] : [1]) : undefined;
    if (!s || s.c <= 0 || !isDefaultDomain(n)) break;
    p = ed.producer(s.x);
  }
  if (p === undefined) return undefined;
  const gate = ed.node(p)!;
  if (!isDefaultDomain(gate)) return undefined;
  // The gate's input as 0 at u = z: Relu and Clip(0, q) are 0 for u ≤ 0; HardSigmoid for α_h·u + β_h ≤ 0.
  let z: number;
  if (gate.opType === "Relu") z = 0;
  else if (gate.opType === "Clip") {
    const b = clipBounds(ed, gate);
    if (b?.lo !== 0) return undefined;
    z = 0;
  } else if (gate.opType === "HardSigmoid") {
    const alpha = attrFloat(gate, "alpha", 0.2);
    if (!(alpha > 0)) return undefined;
    z = -attrFloat(gate, "beta", 0.5) / alpha;
  } else return undefined;
  // Back from the gate's input to v through increasing affine links: u = α·v + β.
  let u = gate.inputs[0]!;
  let alpha = 1;
  let beta = 0;
  for (let k = 0; k < MAX_DEPTH; k++) {
    if (u === v) return (z - beta) / alpha;
    const q = ed.producer(u);
    if (q === undefined) return undefined;
    const n = ed.node(q)!;
    const x = n.inputs.find((name) => name === v) ?? n.inputs.find((name) => name && !ed.constantThrough(name));
    const link = x === undefined ? undefined : affineLink(ed, q, x);
    if (!link || x === undefined) return undefined;
    // u = link(x) and x = α·v + β  →  u = link.α·α·v + link.α·β + link.β
    beta = link.alpha * beta + link.beta;
    alpha = link.alpha * alpha;
    u = x;
  }
  return undefined;
}

/** The hull of the intervals of every reader of `v`; everything for a graph output or a value a subgraph reads. */
function valueInterval(ed: GraphEdit, v: string, depth: number): Interval {
  const consumers = ed.consumers(v);
  if (ed.isGraphOutput(v) || consumers.length === 0 || ed.readers(v) !== consumers.length) return ALL;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const i of new Set(consumers)) {
    const r = readerInterval(ed, i, v, depth);
    lo = Math.min(lo, r.lo);
    hi = Math.max(hi, r.hi);
    if (lo === Number.NEGATIVE_INFINITY && hi === Number.POSITIVE_INFINITY) break;
  }
  return { lo, hi };
}

/** The reader bounds of each of `values` in `g` (only those narrower than everything). */
export function readerBounds(g: Graph, values: readonly string[]): Map<string, Interval> {
  const ed = new GraphEdit(g);
  const out = new Map<string, Interval>();
  for (const v of values) {
    const r = valueInterval(ed, v, 0);
    if (r.lo > Number.NEGATIVE_INFINITY || r.hi < Number.POSITIVE_INFINITY) out.set(v, r);
  }
  return out;
}

export interface ReaderBoundsReport {
  readonly pass: "reader-bounds";
  /** Each activation whose readers tell apart less than every value, with the interval they do (null: unbounded on that side). */
  readonly bounded: readonly { readonly tensor: string; readonly lo: number | null; readonly hi: number | null }[];
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** The reader bounds of `values` in `g`, and their report. */
export function readerBoundsOf(g: Graph, values: readonly string[]): { bounds: Map<string, Interval>; report: ReaderBoundsReport } {
  const bounds = readerBounds(g, values);
  return { bounds, report: { pass: "reader-bounds", bounded: [...bounds].map(([tensor, b]) => ({ tensor, lo: finite(b.lo), hi: finite(b.hi) })) } };
}

/** `r` clamped to `b`, 0 kept inside (for ranges derived without data). */
export function clampRange(r: Interval, b: Interval | undefined): Interval {
  return b ? { lo: Math.min(0, Math.max(r.lo, b.lo)), hi: Math.max(0, Math.min(r.hi, b.hi)) } : r;
}
