/**
 * The resolved plan: the recipe, applied once to the graph, says for every
 * quantized tensor its format, granularity, rounding and calibration method.
 * The stages after planning read only this (ranges, specs, rounding, biases),
 * never the raw recipe.
 *
 * - Every node has its settings (node-settings.ts: first matching `layers`
 *   rule, else global) turned into choices once per distinct settings:
 *   weight: integer format (int8 under 8-bit activations: [−64, 64], see
 *   recipe.ts) and granularity, or a float scheme (FP8, MX, NVFP4);
 *   activation: integer format and symmetry, or a float scheme, and the
 *   calibration method. Float activations calibrate a symmetric int8 range
 *   (FP8 takes max |x| of it; NVFP4 its tensor scale).
 * - A weight takes the choice of the node that reads it; a constant operand
 *   of an elementwise op the activation choice of that op.
 * - An activation takes the choice of the node that produces it (a fused
 *   Relu/Clip counts as its compute op; a pass-through output shares its
 *   source's). A graph input takes its readers'. Where readers' rules set
 *   different activation formats for one tensor, the recipe is refused, naming
 *   both rules.
 */
import { parseCalibrationMethod, type CalibrationMethod } from "../calib/range.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { type IntFormat, intFormat } from "../ir/quant.js";
import { type ActScheme, actSchemeOf, type WeightScheme, weightSchemeOf } from "./float-schemes.js";
import { isFloatType } from "./format-names.js";
import { type FixedSetting, fixedFormat } from "./fixed-formats.js";
import type { WeightRounding } from "./layer-rules.js";
import { type NodeSettings, nodeSettings, type SettingsScope } from "./node-settings.js";
import type { ValueKinds } from "./value-kinds.js";
import { planQuantization, type QuantPlan, type WeightUse } from "./plan.js";
import type { Granularity, LayerSettings, Recipe } from "./recipe.js";

export interface ActChoice {
  /** The integer format; for float activations the int8 symmetric range they calibrate. */
  readonly format: IntFormat;
  /** Symmetric activation ranges (affine parameters and calibration). */
  readonly symmetric: boolean;
  /** A float activation format (FP8, dynamic MX/NVFP4, or none: weight-only). */
  readonly scheme?: ActScheme;
  readonly calibration: CalibrationMethod;
  /** The recipe's name of the format (uint8, fp8-e4m3, mxfp4, float, fixed<16,6>, …). */
  readonly name: string;
  /** A fixed-point design (fixed-formats.ts); `format` is then its W-bit range. */
  readonly fixed?: FixedSetting;
}

export type WeightChoice =
  | { readonly kind: "int"; readonly format: IntFormat; readonly granularity: Granularity; readonly rounding: WeightRounding; readonly fixed?: FixedSetting; readonly clipBlocks?: boolean }
  | { readonly kind: "float"; readonly scheme: WeightScheme; readonly name: string; readonly rounding: WeightRounding };

export interface NodeChoice {
  readonly act: ActChoice;
  readonly weight: WeightChoice;
  /** Index of the `layers` rule that decided, undefined for the global settings. */
  readonly rule?: number;
  readonly reuseFactor?: number;
}

export interface ResolvedPlan extends QuantPlan {
  /** Choices by node index. */
  readonly nodes: readonly NodeChoice[];
  /** The activation choice of every quantized activation tensor (pass-through outputs included). */
  readonly acts: ReadonlyMap<string, ActChoice>;
  /** The rule behind each activation tensor's choice (undefined: global). */
  readonly actRules: ReadonlyMap<string, number | undefined>;
  readonly nodeIndex: ReadonlyMap<Node, number>;
  readonly dataFree: boolean;
}

/**
 * The weight format. The default, int8 narrowed to 7 bits under 8-bit
 * activations, exists for ORT's u8×s8 kernels, which add products in pairs
 * into int16: 2·255·|w| ≤ 32767 holds up to |w| = 64 (2·255·64 = 32640), so the
 * symmetric range is [−64, 64], 129 levels, one step wider than [−63, 63].
 */
export function weightChoice(s: LayerSettings): WeightChoice {
  const scheme = weightSchemeOf(s);
  if (scheme) return { kind: "float", scheme, name: s.weights, rounding: s.weightRounding };
  if (s.fixedWeights) return { kind: "int", format: fixedFormat(s.fixedWeights, intFormat(s.weights)), granularity: s.granularity, rounding: s.weightRounding, fixed: s.fixedWeights };
  // --int4-grid full: int4 blocks of weight-only layers use all 16 codes, the extreme on −8 (numerics/int-group.ts)
  const full = s.int4Grid === "full" && s.weights === "int4" && s.granularity.kind === "per-block" && s.acts === "float" && s.weightBits === 4;
  const f = full ? { ...intFormat("int4"), fullGrid: true } : intFormat(s.weights, { valueBits: s.weightBits, symmetric: true });
  const eightBitActs = s.acts === "uint8" || s.acts === "int8";
  const format = s.weights === "int8" && s.weightBits === 7 && eightBitActs && !s.exactWeightRange ? { ...f, qmin: -64, qmax: 64 } : f;
  return { kind: "int", format, granularity: s.granularity, rounding: s.weightRounding, ...(s.blockScale === "mse" ? { clipBlocks: true } : {}) };
}

/** The activation choice of layer settings (the integer format, symmetry, scheme and calibration). */
export function actChoice(s: LayerSettings): ActChoice {
  if (s.fixedActs) {
    const format = fixedFormat(s.fixedActs, intFormat(s.acts));
    return { format, symmetric: true, calibration: parseCalibrationMethod(s.calibration), name: s.fixedActs.name, fixed: s.fixedActs };
  }
  const floatActs = isFloatType(s.acts) || s.acts === "float";
  // Symmetric integer activations keep the storage type's full range: the scale is max|x|/qmax either way, and
  // QuantizeLinear saturates to the storage range, so [qmin, qmax] says what the QDQ graph computes.
  const format = intFormat(floatActs ? "int8" : s.acts, { symmetric: floatActs });
  return { format, symmetric: s.symmetricActs, scheme: actSchemeOf(s), calibration: parseCalibrationMethod(s.calibration), name: s.acts };
}

/** Choices for every node, built once per distinct settings object. */
function nodeChoices(table: readonly NodeSettings[]): NodeChoice[] {
  const cache = new Map<LayerSettings, { act: ActChoice; weight: WeightChoice }>();
  return table.map((t) => {
    let c = cache.get(t.settings);
    if (!c) {
      c = { act: actChoice(t.settings), weight: weightChoice(t.settings) };
      cache.set(t.settings, c);
    }
    return { ...c, rule: t.rule?.index, reuseFactor: t.rule?.reuseFactor };
  });
}

/** The choices of the global settings (nodes no rule matches). */
export function globalChoice(recipe: Recipe): NodeChoice {
  return nodeChoices([{ settings: recipe }])[0]!;
}

const setsActs = (t: NodeSettings) => t.rule !== undefined && (t.rule.keys.includes("acts") || t.rule.keys.includes("format"));

/**
 * Resolves the recipe on `g` (after the float passes); `inputNames` are the
 * input model's node names and op types, which `exclude` may name; `scope`
 * adds the nodes of control-flow bodies to the recipe's checks (bodies.ts).
 */
export function resolvePlan(g: Graph, recipe: Recipe, inputNames?: ReadonlySet<string>, kinds?: ValueKinds, scope?: SettingsScope): ResolvedPlan {
  const table = nodeSettings(g, recipe, inputNames, scope);
  const plan = planQuantization(g, recipe, kinds, table);
  const nodes = nodeChoices(table);
  const nodeIndex = new Map(g.nodes.map((n, i) => [n, i]));
  const producer = new Map<string, number>();
  const readers = new Map<string, number[]>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) producer.set(o, i);
    for (const v of n.inputs) if (v) readers.set(v, [...(readers.get(v) ?? []), i]);
  });
  const fused = new Set(plan.decisions.filter((d) => d.role === "fused-activation").map((d) => d.index));
  /** The node whose settings decide tensor t: its producer (a fused activation's compute op), or undefined for a graph input. */
  const decider = (t: string): number | undefined => {
    const p = producer.get(t);
    return p !== undefined && fused.has(p) ? producer.get(g.nodes[p]!.inputs[0] ?? "") : p;
  };
  const acts = new Map<string, ActChoice>();
  const actRules = new Map<string, number | undefined>();
  for (const t of plan.activations) {
    const explicit = (readers.get(t) ?? []).filter((i) => setsActs(table[i]!));
    const names = new Map(explicit.map((i) => [nodes[i]!.act.name, i]));
    if (names.size > 1) {
      const [a, b] = [...names.values()].map((i) => `layers[${nodes[i]!.rule}] (acts ${nodes[i]!.act.name})`);
      throw new FixqError("usage", `tensor '${t}' is read by nodes whose rules ask for different activation formats: ${a} and ${b}; an activation has one format, set by its producer`, recipe.recipeFile);
    }
    const d = decider(t) ?? explicit[0] ?? readers.get(t)?.[0];
    const choice = d === undefined ? globalChoice(recipe) : nodes[d]!;
    acts.set(t, choice.act);
    actRules.set(t, choice.rule);
  }
  for (const [t, src] of plan.sharedWith) {
    acts.set(t, acts.get(src)!);
    actRules.set(t, actRules.get(src));
  }
  return { ...plan, nodes, acts, actRules, nodeIndex, dataFree: recipe.dataFree };
}

/** The choice for a weight use: its reading node's. */
export function weightChoiceOf(plan: ResolvedPlan, u: WeightUse): WeightChoice {
  return plan.nodes[plan.nodeIndex.get(u.node)!]!.weight;
}

/** The activation choice of the node reading a constant operand (elementwise ops quantize constants as activations). */
export function operandChoiceOf(plan: ResolvedPlan, u: WeightUse): ActChoice {
  return plan.nodes[plan.nodeIndex.get(u.node)!]!.act;
}

/** True when every activation calibrates with MinMax (extremes suffice, no histograms needed). */
export function onlyMinMax(plan: ResolvedPlan): boolean {
  return [...plan.acts.values()].every((a) => a.calibration.kind === "minmax");
}
