/**
 * Elementwise functions of one integer activation become exact tables.
 *
 * From a node whose only non-constant input is an integer activation x (every
 * constant a scalar), the region grows forward over elementwise nodes whose
 * non-constant inputs all lie in it (GELU's Div → Erf → Add → Mul(x, ·) → Mul,
 * the attention scale Mul, Sigmoid, Tanh, HardSwish …). Every value it leaves
 * through is then a function f of x alone, and for each such value y:
 *   T[q − qmin] = Q_y(f(DQ_x(q)))      for every code q of x's type
 * where the region is evaluated in float32 (each op rounded with Math.fround)
 * with every quantized value inside it fake-quantized as the QDQ model does.
 * The table is the best any integer implementation can do for a small input:
 * each entry is the quantized float function itself. Inputs are limited to
 * 16 bits (65,536 entries).
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { attrFloat, attrString } from "../ir/attrs.js";
import { erf } from "../numerics/erf.js";
import { intMax, intMin } from "../numerics/int.js";
import { quantizeValue } from "../numerics/int-group.js";
import { type ActSpec, type LoweringContext, label } from "./lowering-context.js";

type F = (a: readonly number[], n: Node) => number;

const f32 = Math.fround;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The float function of each elementwise op the region may hold. */
const FUNCTIONS: Readonly<Record<string, F>> = {
  Add: ([a, b]) => a! + b!,
  Sub: ([a, b]) => a! - b!,
  Mul: ([a, b]) => a! * b!,
  Div: ([a, b]) => a! / b!,
  Pow: ([a, b]) => a! ** b!,
  Neg: ([a]) => -a!,
  Abs: ([a]) => Math.abs(a!),
  Sqrt: ([a]) => Math.sqrt(a!),
  Exp: ([a]) => Math.exp(a!),
  Erf: ([a]) => erf(a!),
  Tanh: ([a]) => Math.tanh(a!),
  Sigmoid: ([a]) => sigmoid(a!),
  Softplus: ([a]) => Math.log1p(Math.exp(a!)),
  Softsign: ([a]) => a! / (1 + Math.abs(a!)),
  Relu: ([a]) => Math.max(0, a!),
  LeakyRelu: ([a], n) => (a! >= 0 ? a! : a! * (attrFloat(n, "alpha") ?? 0.01)),
  HardSigmoid: ([a], n) => Math.max(0, Math.min(1, (attrFloat(n, "alpha") ?? 0.2) * a! + (attrFloat(n, "beta") ?? 0.5))),
  HardSwish: ([a]) => a! * Math.max(0, Math.min(1, a! / 6 + 0.5)),
  Gelu: ([a], n) => {
    const x = a!;
    if (attrString(n, "approximate") === "tanh") return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    return 0.5 * x * (1 + erf(x / Math.SQRT2));
  },
  Clip: ([a, lo, hi], n) => Math.min(hi ?? attrFloat(n, "max") ?? Infinity, Math.max(lo ?? attrFloat(n, "min") ?? -Infinity, a!)),
};

/** The op types a table region may hold. */
export const UNARY_OPS: readonly string[] = Object.keys(FUNCTIONS);

/** Whether input `name` of a region node is a scalar constant. */
function scalarConst(ctx: LoweringContext, name: string): boolean {
  const t = ctx.consts.get(name);
  return t !== undefined && t.dims.reduce((a, b) => a * Number(b), 1) === 1;
}

/** The non-constant inputs of n, when every constant input is a scalar (else undefined). */
function activationInputs(ctx: LoweringContext, n: Node): string[] | undefined {
  const acts: string[] = [];
  for (const i of n.inputs) {
    if (!i) continue;
    if (ctx.consts.has(i)) {
      if (!scalarConst(ctx, i)) return undefined;
    } else acts.push(i);
  }
  return acts;
}

/** Whether n starts a table region: an elementwise op of one integer activation (possibly read twice) and scalar constants. */
export function startsTable(ctx: LoweringContext, n: Node): boolean {
  if (!Object.hasOwn(FUNCTIONS, n.opType)) return false;
  const acts = activationInputs(ctx, n);
  return acts !== undefined && acts.length > 0 && new Set(acts).size === 1 && ctx.lowered.has(acts[0]!);
}

/** Grows the region from `start` (graph order); returns its nodes. */
function growRegion(ctx: LoweringContext, start: Node, x: string): Node[] {
  const inside = new Set<string>([x]);
  const nodes: Node[] = [];
  const from = ctx.graph.nodes.indexOf(start);
  for (const m of ctx.graph.nodes.slice(from)) {
    if (ctx.consumed.has(m) || !Object.hasOwn(FUNCTIONS, m.opType)) continue;
    const acts = activationInputs(ctx, m);
    if (!acts || acts.length === 0 || !acts.every((a) => inside.has(a))) continue;
    nodes.push(m);
    for (const o of m.outputs) if (o) inside.add(o);
  }
  return nodes;
}

/** Dequantized float32 value of code q. */
function dq(q: number, s: ActSpec): number {
  return f32(f32(q - s.zeroPoint) * s.scale);
}

export function lowerTable(ctx: LoweringContext, start: Node): void {
  const xFloat = activationInputs(ctx, start)![0]!;
  const x = ctx.intInput(xFloat, start);
  const xs = ctx.specOfInt(x);
  const lo = intMin(xs.type);
  const hi = intMax(xs.type);
  if (hi - lo + 1 > 65536) throw new FixqError("unsupported", `cannot integerize: ${label(start)} reads a ${xs.type.bits}-bit activation; tables need at most 16-bit inputs`);
  const region = growRegion(ctx, start, xFloat);
  const inRegion = new Set(region);
  const produced = new Set(region.flatMap((m) => m.outputs.filter((o) => o)));
  const exits = [...produced].filter((v) => ctx.graphOutputs.has(v) || (ctx.readers.get(v) ?? []).some((r) => !inRegion.has(r)));
  const codes = hi - lo + 1;
  const vals = new Map<string, Float64Array>();
  const xv = new Float64Array(codes);
  for (let q = lo; q <= hi; q++) xv[q - lo] = dq(q, xs);
  vals.set(xFloat, xv);
  const where = label(start);
  for (const m of region) {
    const ins = m.inputs.map((i) => (i ? (vals.get(i) ?? f32(tensorToFloat64(ctx.consts.get(i)!)[0]!)) : undefined));
    const out = new Float64Array(codes);
    const fn = FUNCTIONS[m.opType]!;
    for (let j = 0; j < codes; j++) out[j] = f32(fn(ins.map((v) => (v === undefined ? undefined : typeof v === "number" ? v : v[j]!)) as number[], m));
    const spec = ctx.actSpec(m.outputs[0]!, where);
    if (spec && !exits.includes(m.outputs[0]!)) for (let j = 0; j < codes; j++) out[j] = dq(quantizeValue(out[j]!, spec.scale, spec.zeroPoint, spec.qmin, spec.qmax), spec);
    vals.set(m.outputs[0]!, out);
  }
  for (const m of region) ctx.consumed.add(m);
  for (const y of exits) {
    const spec = ctx.actSpec(y, where);
    if (!spec) throw new FixqError("unsupported", `not fully quantized: '${y}', a function of '${xFloat}' through ${region.map((m) => m.opType).join(", ")}, has no integer quantization spec`, where);
    const v = vals.get(y)!;
    const table = new Int32Array(codes);
    for (let j = 0; j < codes; j++) table[j] = quantizeValue(v[j]!, spec.scale, spec.zeroPoint, spec.qmin, spec.qmax);
    const out = ctx.addValue(`${y}_q`, ctx.values.get(x)!.shape, spec.type, spec);
    ctx.ops.push({ kind: "table", source: `${where} (${region.map((m) => m.opType).join(" → ")})`, input: x, output: out, inputMin: lo, table });
    ctx.lowered.set(y, out);
  }
}
