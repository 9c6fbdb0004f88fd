/**
 * Cross-layer equalization and bias correction (`quantize --cle`,
 * `--bias-correction`), from the pass reports in the quantize JSON:
 * - per layer, the weight-range spread max_c r_c / min_c r_c (r_c = max|w|
 *   of output channel c) before and after CLE, on a log axis;
 * - per corrected layer, max_c |Δb_c|, the largest bias change bias
 *   correction made (Δb = −E[(W_q − W)·x] per output channel).
 */
import { chartFigure, pairedBars } from "../chart.js";
import type { SectionBuilder } from "../context.js";
import { objs, str } from "../doc.js";
import { numCell, table } from "../html.js";

const passReport = (doc: object, name: string) => objs((doc as { passes?: unknown }).passes).find((p) => p["pass"] === name);

export const equalizationSection: SectionBuilder = async ({ run, ctx, id, tag }) => {
  const layers = objs(passReport(run.doc, "equalize")?.["layers"]);
  if (layers.length === 0) return null;
  const spec = pairedBars({
    title: "Weight-range spread per layer (max/min over output channels of max|w|; lower is better)",
    rows: layers,
    layer: (l) => str(l["layer"]) ?? "?",
    fields: ["before", "after"],
    series: ["before CLE", "after CLE"],
    yTitle: "layer (graph order)",
    xTitle: "spread (ratio, log scale)",
    xScale: "log",
  });
  return [
    await chartFigure(spec as never, "bar chart of each layer's weight-range spread before and after cross-layer equalization"),
    table({
      caption: "Weight-range spread before → after CLE",
      columns: [{ label: "layer" }, { label: "before", numeric: true }, { label: "after", numeric: true }, { label: "ratio", numeric: true }],
      rows: layers.map((l) => {
        const name = str(l["layer"]) ?? "?";
        const ratio = typeof l["before"] === "number" && typeof l["after"] === "number" && l["after"] > 0 ? l["before"] / l["after"] : undefined;
        return { id: ctx.row(name, id, `CLE${tag}`), cells: [{ html: ctx.nameCell(name, name, id), sort: name }, numCell(l["before"]), numCell(l["after"]), numCell(ratio)] };
      }),
    }),
  ].join("\n");
};

export const biasCorrectionSection: SectionBuilder = async ({ run, ctx, id, tag }) => {
  const r = passReport(run.doc, "bias-correction");
  const corrected = objs(r?.["corrected"]);
  if (corrected.length === 0) return null;
  const names = corrected.map((c) => str(c["layer"]) ?? "?");
  const spec = {
    title: `Bias correction (${str(r?.["mode"]) ?? "?"}): largest bias change per layer`,
    width: 480,
    height: { step: 12 },
    data: { values: corrected.map((c) => ({ layer: str(c["layer"]), d: c["maxAbsDelta"] })) },
    mark: { type: "bar" as const, color: "#009E73" },
    encoding: { y: { field: "layer", type: "nominal" as const, sort: names, title: "layer (graph order)" }, x: { field: "d", type: "quantitative" as const, title: "max |Δb| over output channels (units of the layer's output)" } },
  };
  return [
    await chartFigure(spec as never, "bar chart of the largest bias change per corrected layer"),
    table({
      caption: "Bias correction: max |Δb| per layer",
      columns: [{ label: "layer" }, { label: "max |Δb|", numeric: true }],
      rows: corrected.map((c) => {
        const name = str(c["layer"]) ?? "?";
        return { id: ctx.row(name, id, `Δb${tag}`), cells: [{ html: ctx.nameCell(name, name, id), sort: name }, numCell(c["maxAbsDelta"])] };
      }),
    }),
  ].join("\n");
};
