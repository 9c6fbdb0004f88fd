/**
 * Activation ranges for control-flow bodies (body-plan.ts).
 *
 * Calibration: one run of the model over the calibration data, with every
 * value the main plan needs and every value the body plans need carried out
 * of its body (body-hoist.ts). A value a body reads from an enclosing scope
 * is observed where it is defined (the main graph, or the enclosing body).
 * The ranges then come from the statistics exactly as for the main graph
 * (same method, same format). A body is refused, and stays float, when one of
 * its values was never computed on the calibration data (an If branch never
 * taken, a Loop that never iterated); when ONNX Runtime cannot run the model
 * with the values exposed, every body is refused with its reason and the
 * main graph is calibrated alone.
 *
 * Data-free: as in the main graph (data-free-ranges.ts), on the standalone
 * body; a value read from an enclosing scope takes the range derived there.
 * A body's own inputs (Loop and Scan state, scan slices, the iteration count)
 * have no derivable range: a body that needs one is refused, naming it.
 */
import { chooseRange } from "../calib/range.js";
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Model } from "../ir/graph.js";
import { type Body, definedNames } from "./bodies.js";
import { hoistBodyValues, type WantedValue } from "./body-hoist.js";
import { activeBodies, type BodyState } from "./body-plan.js";
import { type CalibrateOptions, type CalibrationResult, calibrate, type TensorStatistics } from "./calibrate.js";
import type { DataSource } from "./feeds.js";
import { dataFreeRanges } from "./data-free-ranges.js";
import type { ResolvedPlan } from "./resolve-plan.js";

export type RangeMap = Map<string, { lo: number; hi: number }>;

/**
 * The range of every activation of `plan` from its statistics (`stats` gives
 * undefined for a tensor never observed), chosen within its reader bounds
 * where `bounds` has them (reader-bounds.ts).
 */
export function rangesFromStats(plan: ResolvedPlan, stats: (t: string) => TensorStatistics | undefined, bounds?: ReadonlyMap<string, { lo: number; hi: number }>): RangeMap {
  const ranges: RangeMap = new Map();
  for (const t of plan.activations) {
    const a = plan.acts.get(t)!;
    ranges.set(t, chooseRange(stats(t)!, a.calibration, { bits: a.format.bits, signed: a.format.signed, symmetric: a.symmetric }, bounds?.get(t)));
  }
  return ranges;
}

/** True for a body inside a Loop or Scan body (or one itself), whose values are stacked over iterations. */
const insideLoop = (b: Body): boolean => {
  for (let p: Body | undefined = b; p; p = p.parent) if (p.owner.opType !== "If") return true;
  return false;
};

/**
 * One calibration run of `model` with every value the main plan and the
 * `active` body plans need exposed; the message of ORT's refusal when the
 * run fails.
 */
async function runHoisted(
  model: Model,
  source: DataSource,
  mainActs: readonly string[],
  active: readonly BodyState[],
  opts: CalibrateOptions,
): Promise<{ result: CalibrationResult; hoisted: ReturnType<typeof hoistBodyValues> } | string> {
  const wanted = new Map<Graph, WantedValue[]>();
  const mainExtra = new Set<string>();
  const want = (b: Body, value: string, dtype: number) => {
    const list = wanted.get(b.original) ?? [];
    if (!list.some((w) => w.value === value)) list.push({ value, dtype });
    wanted.set(b.original, list);
  };
  for (const s of active) {
    const outer = new Set(s.body.outerInputs);
    for (const a of s.plan!.activations) {
      const dtype = s.body.types.get(a)?.dtype ?? DataType.FLOAT;
      if (!outer.has(a)) want(s.body, a, dtype);
      else {
        const d = definingBody(s.body, a);
        if (d) want(d, a, dtype);
        else mainExtra.add(a);
      }
    }
  }
  const hoisted = hoistBodyValues(model, wanted);
  try {
    const tensors = [...new Set([...mainActs, ...mainExtra]), ...hoisted.exposed.keys()];
    return { result: await calibrate(hoisted.model, source, tensors, opts), hoisted };
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0]!.replace(/^onnxruntime failed to run: /, "");
    return `ONNX Runtime could not run the model with its body values exposed for calibration: ${msg}`;
  }
}

/** The enclosing body defining `value` for `b`, or undefined for the main graph. */
function definingBody(b: Body, value: string): Body | undefined {
  for (let p = b.parent; p; p = p.parent) if (definedNames(p.original).has(value)) return p;
  return undefined;
}

const notComputed = (b: Body, v: string) =>
  `its value '${v}' was never computed on the calibration data (${b.owner.opType === "If" ? "the If never took this branch" : "the loop ran no iteration"})`;

/**
 * Calibrates the main graph's `mainActs` and every active body's
 * activations in one run; sets each body's ranges, or refuses it. Returns the
 * main graph's statistics as `calibrate` does.
 */
export async function calibrateWithBodies(
  model: Model,
  source: DataSource,
  mainActs: readonly string[],
  states: readonly BodyState[],
  opts: CalibrateOptions,
): Promise<CalibrationResult> {
  let active = activeBodies(states);
  if (active.length === 0) return calibrate(model, source, mainActs, opts);
  let run = await runHoisted(model, source, mainActs, active, opts);
  if (typeof run === "string") {
    // A Loop/Scan value ORT cannot stack (its shape changes between iterations, or an If inside the loop switches
    // branch): refuse the bodies inside loops and try the others alone.
    const why = run;
    const looped = active.filter((s) => insideLoop(s.body));
    for (const s of looped) s.refused = why;
    active = active.filter((s) => !insideLoop(s.body));
    run = looped.length && active.length ? await runHoisted(model, source, mainActs, active, opts) : why;
    if (typeof run === "string") {
      for (const s of active) s.refused = run;
      // Nothing of the main graph to calibrate: the caller refuses the model with the bodies' reasons.
      return mainActs.length ? calibrate(model, source, mainActs, opts) : { histograms: new Map(), samples: 0, sha256: "" };
    }
  }
  const { result, hoisted } = run;
  const inBody = new Map<Graph, Map<string, TensorStatistics>>();
  for (const [name, origin] of hoisted.exposed) {
    const m = inBody.get(origin.body) ?? new Map<string, TensorStatistics>();
    m.set(origin.value, result.histograms.get(name)!);
    inBody.set(origin.body, m);
  }
  for (const s of active) {
    const outer = new Set(s.body.outerInputs);
    const statsOf = (a: string) => {
      const where = outer.has(a) ? definingBody(s.body, a) : s.body;
      return where ? inBody.get(where.original)?.get(a) : result.histograms.get(a);
    };
    const missing = s.plan!.activations.find((a) => !(statsOf(a)?.count ?? 0));
    if (missing !== undefined) s.refused = notComputed(s.body, missing);
    else s.ranges = rangesFromStats(s.plan!, statsOf);
  }
  const main = new Map([...mainActs].map((t) => [t, result.histograms.get(t)!]));
  return { ...result, histograms: main };
}

/** Data-free ranges for every active body (see the file comment); refuses a body whose ranges cannot be derived. */
export function dataFreeBodyRanges(main: Graph, states: readonly BodyState[], inputRange: readonly [number, number] | undefined): void {
  const given = new Map<Body, RangeMap>();
  const rangeIn = (scope: Body | undefined, v: string): { lo: number; hi: number } | undefined => {
    try {
      const g = scope ? scope.standalone : main;
      const r = dataFreeRanges(g, [v], scope ? { inputRanges: given.get(scope) } : { inputRange });
      return r.ranges.get(v);
    } catch {
      return undefined;
    }
  };
  // Parents come before their children, so an enclosing body's outer ranges are known when a child asks it.
  for (const s of states) {
    if (!s.plan) continue;
    const outer: RangeMap = new Map();
    for (const v of s.body.outerInputs) {
      const r = rangeIn(definingBody(s.body, v), v);
      if (r) outer.set(v, r);
    }
    given.set(s.body, outer);
    if (s.refused !== undefined || !s.plan.decisions.some((d) => d.quantized)) continue;
    try {
      const noInputRange = (v: string) =>
        s.body.outerInputs.includes(v) ? `'${v}', read from the enclosing graph, has no derivable range there` : `'${v}' is an input of the ${s.body.owner.opType} body (state, scan slice or iteration count), whose range only data can tell`;
      s.ranges = dataFreeRanges(s.body.standalone, s.plan.activations, { inputRanges: outer, noInputRange }).ranges;
    } catch (e) {
      if (!(e instanceof FixqError)) throw e;
      s.refused = e.message;
    }
  }
}
