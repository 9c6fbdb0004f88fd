/**
 * Quantizing control-flow bodies like the main graph: each If/Loop/Scan body
 * (bodies.ts, in its standalone form) gets its own resolved plan under the
 * same recipe, its own activation ranges (body-ranges.ts), specs, nearest
 * weight codes and int32 biases, and is written by the same QDQ writer; the
 * written body then replaces the original inside its owner node, innermost
 * bodies first.
 *
 * A body is refused, and kept float as it is, when its owner is not If, Loop
 * or Scan (opset ≥ 9), when `--exclude` names its path (or an enclosing
 * body's), or when its ranges cannot be found (body-ranges.ts says why). Bias
 * correction does not reach into bodies (their biases are written as
 * computed, without correction). Bodies nested in a refused body are still
 * planned on their own.
 */
import type { Graph, Node } from "../ir/graph.js";
import { graphNames } from "../ir/names.js";
import { type Body, collectBodies, replaceBody, restoreBody } from "./bodies.js";
import { formatTable, type TensorFormat } from "./format-table.js";
import type { NodeDecision } from "./plan.js";
import { writeQdq, type WriteOptions } from "./qdq-write.js";
import type { Recipe } from "./recipe.js";
import { type ResolvedPlan, resolvePlan } from "./resolve-plan.js";
import { roundNearest } from "./round-weights.js";
import { assignSpecs, withLateCodes } from "./specs.js";
import { holdsComputeOp } from "./subgraphs.js";
import { valueKinds } from "./value-kinds.js";

export interface BodyState {
  readonly body: Body;
  /** Undefined for a body fixq does not plan (see `refused`). */
  readonly plan?: ResolvedPlan;
  /** Why the body stays float; undefined while it is being quantized. */
  refused?: string;
  ranges?: Map<string, { lo: number; hi: number }>;
  /** The standalone graph with every spec, int32 biases included. */
  specified?: Graph;
  codes?: Map<string, Int32Array>;
}

/** True when the plan quantizes anything in the body. */
export function plansSomething(s: BodyState): boolean {
  return s.plan?.decisions.some((d) => d.quantized) ?? false;
}

/** The bodies that will be quantized: planned, something to quantize, not refused. */
export function activeBodies(states: readonly BodyState[]): BodyState[] {
  return states.filter((s) => s.refused === undefined && plansSomething(s));
}

/** Every body of `g`'s control-flow nodes with its nodes' qualified names, before any plan (for the recipe's checks). */
export function findBodies(g: Graph, opset: number): { bodies: Body[]; nodes: Node[]; paths: string[] } {
  const bodies = collectBodies(g, opset);
  return { bodies, nodes: bodies.flatMap((b) => (b.unhandled ? [] : b.standalone.nodes)), paths: bodies.map((b) => b.path) };
}

const QDQ = new Set(["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"]);

const excludedBy = (recipe: Recipe, b: Body): string | undefined => {
  for (let x: Body | undefined = b; x; x = x.parent) if (recipe.exclude.includes(x.path)) return x.path;
  return undefined;
};

/** The plan of every body under `recipe` (the recipe's checks already ran over the main graph and every body). */
export function planBodies(bodies: readonly Body[], recipe: Recipe): BodyState[] {
  return bodies.map((body): BodyState => {
    if (body.unhandled) return { body, refused: body.unhandled };
    // Quantizing a body twice would stack Q/DQ on Q/DQ; the main graph's QDQ is re-exported instead (quantize.ts).
    if (body.original.nodes.some((n) => QDQ.has(n.opType))) return { body, refused: "it already holds QuantizeLinear/DequantizeLinear nodes (quantized before)" };
    const plan = resolvePlan(body.standalone, recipe, undefined, valueKinds(body.standalone, body.types), { check: false });
    const ex = excludedBy(recipe, body);
    return ex === undefined ? { body, plan } : { body, plan, refused: `excluded by --exclude ${ex}` };
  });
}

/** Specs, nearest codes and int32 biases for every active body with ranges (no bias correction inside bodies). */
export function specifyBodies(states: readonly BodyState[]): void {
  for (const s of activeBodies(states)) {
    const plan = s.plan!;
    const out = assignSpecs(s.body.standalone, plan, s.ranges!);
    const late = withLateCodes(out.graph, plan, out.outScales, roundNearest(out.graph));
    s.specified = late.graph;
    s.codes = late.codes;
  }
}

/**
 * `g` (the main graph, with its specs, before its own QDQ write) with every
 * active body written as QDQ in place of the original; the copied constants
 * of the written bodies are returned for dropCopiedConstants. Fresh names
 * avoid every name of the model (the writer sees them as value_info).
 */
export function writeBodies(g: Graph, states: readonly BodyState[], opts: Omit<WriteOptions, "codes">): { graph: Graph; copied: Set<string> } {
  const taken = graphNames(g);
  const working = new Map<BodyState, Graph>(states.map((s) => [s, s.specified ?? s.body.original]));
  const byBody = new Map<Body, BodyState>(states.map((s) => [s.body, s]));
  const copied = new Set<string>();
  let main = g;
  // Children come after their parents in `states`: reverse order writes the innermost first.
  for (const s of [...states].reverse()) {
    let final = working.get(s)!;
    if (s.specified && s.refused === undefined) {
      const reserved = [...taken.taken()].map((name) => ({ name }));
      const w = writeQdq({ ...final, valueInfo: [...final.valueInfo, ...reserved] }, { ...opts, codes: s.codes! });
      final = restoreBody(s.body, w);
      for (const name of graphNames(final).taken()) taken.reserve(name);
      for (const c of s.body.copied) copied.add(c);
    }
    const parent = s.body.parent && byBody.get(s.body.parent);
    if (parent) working.set(parent, replaceBody(working.get(parent)!, s.body.original, final));
    else main = replaceBody(main, s.body.original, final);
  }
  return { graph: main, copied };
}

/** The decisions of every planned body (qualified node names); a refused body's quantized decisions point at the body, whose reason `subgraphs` gives once. */
export function bodyDecisions(states: readonly BodyState[]): NodeDecision[] {
  return states.flatMap((s) => {
    const ds = s.plan?.decisions ?? [];
    if (s.refused === undefined) return ds;
    return ds.map((d) => (d.quantized ? { ...d, quantized: false, role: undefined, reason: `its body ${s.body.path} is kept float (the body's note says why; subgraphs in JSON)` } : d));
  });
}

/** The format rows of every written body, tensors named `<body path>/<tensor>`. */
export function bodyFormats(states: readonly BodyState[]): TensorFormat[] {
  return activeBodies(states).flatMap((s) => formatTable(s.plan!, s.specified!).map((r) => ({ ...r, tensor: `${s.body.path}/${r.tensor}` })));
}

/** A body worth a line in the summary: its plan quantizes something, or fixq did not plan it and it holds a compute op. */
const matters = (b: BodyState) => plansSomething(b) || (!b.plan && holdsComputeOp(b.body.original));

/** `path: reason` of every refused body whose plan quantized something, or that fixq did not plan and holds a compute op. */
export function refusedLines(states: readonly BodyState[]): string[] {
  return states.filter((b) => b.refused !== undefined && matters(b)).map((b) => `${b.body.path}: ${b.refused}`);
}

/** One entry per body that matters (see `matters`): quantized, or refused and why. */
export function bodySummary(states: readonly BodyState[]): { body: string; quantized: boolean; reason?: string }[] {
  return states.filter(matters).map((s) => (s.refused === undefined ? { body: s.body.path, quantized: true } : { body: s.body.path, quantized: false, reason: s.refused }));
}
