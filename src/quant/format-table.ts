/**
 * The format chosen for every quantized tensor, as `fixq quantize` prints it,
 * lists it under `--json` (`formats`), and records it in the output's
 * metadata (`fixq.formats`) for `fixq inspect`.
 *
 * Integer formats have fixq's canonical names, as in the files'
 * `fixq_format` annotations (format-annotation.ts: `int8[-64,64]`, `int4[-7,7]`,
 * `int7`, `int32`); float formats the recipe's name (`fp8-e4m3`, `mxfp4`, …);
 * fixed-point designs their exact ap type (`fixed<16,2>`, I chosen per tensor for `fixed<W>`).
 */
import type { Graph } from "../ir/graph.js";
import type { QuantSpec } from "../ir/quant.js";
import { intFormatName } from "./format-annotation.js";
import { fixedTypeName } from "../numerics/fixed.js";
import type { ResolvedPlan } from "./resolve-plan.js";

export type TensorRole = "activation" | "weight" | "operand" | "bias";

export interface TensorFormat {
  readonly tensor: string;
  readonly role: TensorRole;
  readonly format: string;
  /** per-tensor | per-channel | per-block:N | dynamic-block:N */
  readonly granularity: string;
  /** How the codes were chosen (weights, operands, biases); "" for activations. */
  readonly rounding: string;
  /** How the range was found (activations): the calibration method or data-free; "" for constants. */
  readonly calibration: string;
  /** The `layers` rule that decided, or null for the global settings. */
  readonly rule: number | null;
}

function granularityOf(spec: QuantSpec): string {
  switch (spec.kind) {
    case "affine":
    case "float":
      return spec.axis === undefined ? "per-tensor" : "per-channel";
    case "block":
    case "mx":
    case "nvfp4":
      return `per-block:${spec.blockSize}`;
    case "dynamic-block":
      return `dynamic-block:${spec.blockSize}`;
  }
}

const methodName = (m: { kind: string; percentile?: number }) => (m.kind === "percentile" ? `percentile:${m.percentile}` : m.kind);

/** One row per tensor with a spec in `specified` (the graph the writer gets), in spec order. */
export function formatTable(plan: ResolvedPlan, specified: Graph): TensorFormat[] {
  const roles = new Map<string, { role: TensorRole; node?: number }>();
  for (const u of plan.weights) roles.set(specified.nodes[plan.nodeIndex.get(u.node)!]!.inputs[u.slot]!, { role: u.asActivation ? "operand" : "weight", node: plan.nodeIndex.get(u.node) });
  specified.nodes.forEach((n, i) => {
    const s = specified.quant?.get(n.inputs[2] ?? "");
    if (s?.kind === "affine" && s.format.bits === 32) roles.set(n.inputs[2]!, { role: "bias", node: i });
  });
  const rows: TensorFormat[] = [];
  for (const [tensor, spec] of specified.quant ?? []) {
    const r = roles.get(tensor) ?? { role: "activation" as const };
    const choice = r.node !== undefined ? plan.nodes[r.node]! : undefined;
    const act = plan.acts.get(tensor);
    const format = spec.kind === "affine" && spec.fixed ? fixedTypeName(spec.fixed) : spec.kind === "affine" || spec.kind === "block" ? intFormatName(spec.format) : r.role === "weight" && choice?.weight.kind === "float" ? choice.weight.name : r.role === "activation" || r.role === "operand" ? (act ?? choice?.act)?.name ?? spec.kind : spec.kind;
    const rounding = r.role === "activation" ? "" : r.role === "bias" ? "nearest" : choice?.weight.rounding ?? "nearest";
    const calibration = r.role === "activation" ? (plan.dataFree ? "data-free" : act ? methodName(act.calibration) : "") : "";
    const rule = r.role === "activation" ? (plan.actRules.get(tensor) ?? null) : (choice?.rule ?? null);
    rows.push({ tensor, role: r.role, format, granularity: granularityOf(spec), rounding, calibration, rule });
  }
  return rows;
}

/** Text lines: one per distinct (role, format, granularity, rule), with the tensor count, then nothing else (the full list is in --json). */
export function formatSummaryLines(rows: readonly TensorFormat[]): string[] {
  const groups = new Map<string, { n: number; first: string }>();
  for (const r of rows) {
    const key = `${r.role.padEnd(10)} ${r.format.padEnd(14)} ${r.granularity.padEnd(14)}${r.calibration ? ` ${r.calibration}` : ""}${r.rule !== null ? ` layers[${r.rule}]` : ""}`;
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { n: 1, first: r.tensor });
  }
  return [...groups].map(([k, g]) => `${k}  ${g.n}× (e.g. ${g.first})`);
}
