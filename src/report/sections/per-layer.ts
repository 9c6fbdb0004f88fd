/**
 * Per-layer SQNR (`fixq eval --per-layer`): for every quantized activation,
 * the cumulative SQNR against the float model,
 *     SQNR = 10·log10(Σ ref² / Σ (ref − cand)²)  dB,
 * and the local SQNR, the noise the tensor adds beyond its quantized inputs
 * (src/eval/per-layer.ts). Bars in graph order; the worst layers are
 * highlighted and named. When the run measured the integer-kernel path per
 * tensor (`integerKernelSqnrDb`), it is overlaid on the fake-quant bars.
 */
import { chartFigure, HIGHLIGHT, BASE } from "../chart.js";
import type { SectionBuilder } from "../context.js";
import { at, type Json, numOr, objs, str } from "../doc.js";
import { anchor, esc, numCell, table, toNumber } from "../html.js";

/** Layers named as worst: a quarter of them, at most 3 (with 3 layers, only 1 is "worst"). */
export const worstCount = (n: number) => Math.min(3, Math.ceil(n / 4));
/** Infinite SQNR (an exact tensor) is drawn at this many dB above the largest finite value. */
const INF_MARGIN = 10;

const nodeLabel = (a: Json) => {
  const name = str(at(a, "node", "name"));
  return name ? `${str(at(a, "node", "opType"))} '${name}'` : "(graph input)";
};

export const perLayerSection: SectionBuilder = async ({ run, ctx, id, tag }) => {
  const acts = objs(at(run.doc, "perLayer", "activations"));
  const weights = objs(at(run.doc, "perLayer", "weights"));
  if (acts.length === 0 && weights.length === 0) return null;
  const parts: string[] = [];
  if (acts.length) {
    // Graph order when the run records it (graphIndex), else the order written.
    const ordered = acts.map((a, i) => ({ a, order: numOr(a["graphIndex"]) ?? i })).sort((x, y) => x.order - y.order);
    const worst = [...acts].sort((x, y) => toNumber(x["sqnrDb"]) - toNumber(y["sqnrDb"])).slice(0, worstCount(acts.length));
    const worstSet = new Set(worst.map((w) => str(w["tensor"])));
    const finite = acts.flatMap((a) => ["sqnrDb", "localSqnrDb", "integerKernelSqnrDb"].map((k) => toNumber(a[k]))).filter(Number.isFinite);
    const cap = Math.max(0, ...finite) + INF_MARGIN;
    const shown = (x: unknown) => {
      const v = toNumber(x);
      return Number.isNaN(v) ? null : Math.min(v, cap);
    };
    const bars = ordered.map(({ a }, i) => ({ i, tensor: str(a["tensor"]), sqnr: shown(a["sqnrDb"]), worst: worstSet.has(str(a["tensor"])) ? "worst" : "other" }));
    const marks = ordered.flatMap(({ a }) => [
      { tensor: str(a["tensor"]), series: "local SQNR (fake-quant)", v: shown(a["localSqnrDb"]) },
      ...(a["integerKernelSqnrDb"] !== undefined ? [{ tensor: str(a["tensor"]), series: "cumulative SQNR, integer kernels", v: shown(a["integerKernelSqnrDb"]) }] : []),
    ]).filter((m) => m.v !== null && m.v < cap); // an infinite local SQNR (the tensor adds no noise) has no mark
    const order = bars.map((b) => b.tensor!);
    const y = { field: "tensor", type: "nominal" as const, sort: order, title: null };
    const spec = {
      title: "Per-layer SQNR vs the float model, quantized activations in graph order (higher is better)",
      width: 520,
      height: { step: 14 },
      layer: [
        { data: { values: bars }, mark: { type: "bar" as const }, encoding: { y, x: { field: "sqnr", type: "quantitative" as const, title: "cumulative SQNR, fake-quant (dB)" }, color: { field: "worst", type: "nominal" as const, scale: { domain: ["worst", "other"], range: [HIGHLIGHT, BASE] }, legend: { title: "bars" } } } },
        { data: { values: marks }, mark: { type: "point" as const, filled: true, size: 40 }, encoding: { y, x: { field: "v", type: "quantitative" as const }, shape: { field: "series", type: "nominal" as const, legend: { title: "marks" } }, color: { value: "#000000" } } },
      ],
      resolve: { scale: { color: "independent" as const } },
    };
    parts.push(`<p>Worst ${worst.length === 1 ? "layer" : `${worst.length} layers`}: ${worst.map((w) => `<a href="#${anchor(id, str(w["tensor"]) ?? "?")}">${esc(str(w["tensor"]))}</a> (${numCell(w["sqnrDb"]).html} dB)`).join(", ")}. Infinite SQNR (an exact tensor) is drawn at ${cap.toFixed(0)} dB.</p>`);
    parts.push(await chartFigure(spec as never, "bar chart of cumulative SQNR per quantized activation in graph order", "Bars: cumulative SQNR of each quantized activation (fake-quant, ORT optimizations off), the worst in vermillion. Marks: the local SQNR and, where measured, the integer-kernel SQNR."));
    const ik = acts.some((a) => a["integerKernelSqnrDb"] !== undefined);
    parts.push(
      table({
        caption: "Quantized activations (click a header to sort)",
        columns: [{ label: "#", numeric: true }, { label: "tensor" }, { label: "node" }, { label: "SQNR dB", numeric: true }, { label: "local dB", numeric: true }, ...(ik ? [{ label: "integer-kernel dB", numeric: true }] : []), { label: "max |err|", numeric: true }],
        rows: ordered.map(({ a, order }) => {
          const t = str(a["tensor"]) ?? "?";
          return {
            id: ctx.row(t, id, `SQNR${tag}`),
            cells: [numCell(order), { html: ctx.nameCell(t, t, id), sort: t }, nodeLabel(a), numCell(a["sqnrDb"]), numCell(a["localSqnrDb"]), ...(ik ? [numCell(a["integerKernelSqnrDb"])] : []), numCell(a["maxAbsError"])],
          };
        }),
      }),
    );
  }
  if (weights.length) {
    parts.push(
      table({
        caption: "Quantized weights and biases vs the float model",
        columns: [{ label: "tensor" }, { label: "read by" }, { label: "SQNR dB", numeric: true }, { label: "max |err|", numeric: true }],
        rows: weights.map((w) => {
          const t = str(w["tensor"]) ?? "?";
          const node = str(at(w, "node", "name"));
          return { id: ctx.row(t, `${id}-w`, `weight SQNR${tag}`, [node]), cells: [{ html: ctx.nameCell(t, t, `${id}-w`, [node]), sort: t }, nodeLabel(w), numCell(w["sqnrDb"]), numCell(w["maxAbsError"])] };
        }),
      }),
    );
  }
  return parts.join("\n");
};
