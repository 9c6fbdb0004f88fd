/**
 * Activation ranges (`quantize --html`): each quantized activation's
 * calibration histogram with the clipping range [lo, hi] every calibration
 * method chooses marked (minmax, percentile, mse, entropy; the method the
 * model was quantized with drawn solid and thicker). Values outside [lo, hi]
 * are clipped; a range wider than the data wastes levels (step = (hi − lo) /
 * (2^bits − 1)). The histograms come from one extra pass over the
 * calibration data, whose cost the section states.
 */
import { chartFigure, PALETTE } from "../chart.js";
import type { SectionBuilder } from "../context.js";
import { arr, at, type Json, numOr, obj, objs, str } from "../doc.js";
import { esc, numCell, table } from "../html.js";

/** A compact histogram as step-area points: one per bin edge (x) with the count of the bin starting there. */
export function histogramPoints(h: Json): { x: number; n: number }[] {
  const lo = numOr(h["lo"]) ?? 0;
  const w = numOr(h["width"]) ?? 0;
  const counts = arr(h["counts"]).map((c) => (typeof c === "number" ? c : 0));
  const pts = counts.map((n, j) => ({ x: lo + j * w, n }));
  if (counts.length) pts.push({ x: lo + counts.length * w, n: counts[counts.length - 1]! });
  return pts;
}

/** The histogram's area layer, counts on a symmetric-log scale (0 stays visible, tails too). */
export function histogramLayer(h: Json, xTitle: string) {
  return {
    data: { values: histogramPoints(h) },
    mark: { type: "area" as const, interpolate: "step-after" as const, color: "#56B4E9", opacity: 0.8 },
    encoding: { x: { field: "x", type: "quantitative" as const, title: xTitle, scale: { zero: false, nice: false } }, y: { field: "n", type: "quantitative" as const, title: "count (symlog)", scale: { type: "symlog" as const } } },
  };
}

/** At most this many histogram charts per section; the rest are in the table (and the JSON). */
export const MAX_CHARTS = 32;

const DASHES = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4]] as const;
const colourOf = (_m: string, i: number) => PALETTE[i % PALETTE.length]!;
const dashOf = (_m: string, i: number) => [...DASHES[i % DASHES.length]!];

/** One legend for every chart of the section: each method's line colour and dash. */
function methodLegend(methods: readonly string[]): string {
  const item = (m: string, i: number) =>
    `<span class="key"><svg width="28" height="8" aria-hidden="true"><line x1="0" y1="4" x2="28" y2="4" stroke="${colourOf(m, i)}" stroke-width="2" stroke-dasharray="${dashOf(m, i).join(" ")}"/></svg> ${esc(m)}</span>`;
  return `<p class="legend">Clipping range [lo, hi] chosen by: ${methods.map(item).join(" ")} (the method the model used: thicker line).</p>`;
}

/** The widest-tailed first: the minmax range over the narrowest other method's range (1 when there is none). */
export function tailRatio(a: Json): number {
  const ranges = obj(a["ranges"]) ?? {};
  const width = (r: unknown) => {
    const [lo, hi] = arr(r);
    return typeof lo === "number" && typeof hi === "number" ? hi - lo : Number.NaN;
  };
  const full = width(ranges["minmax"]);
  const others = Object.entries(ranges).filter(([m]) => m !== "minmax").map(([, r]) => width(r)).filter((w) => w > 0);
  return others.length && full > 0 ? full / Math.min(...others) : 1;
}

export const activationRangesSection: SectionBuilder = async ({ run, ctx, id, tag }) => {
  const acts = objs(at(run.doc, "histograms", "activations"));
  if (acts.length === 0) return null;
  const pass = obj(at(run.doc, "histograms", "pass"));
  const methods = [...new Set(acts.flatMap((a) => Object.keys(obj(a["ranges"]) ?? {})))];
  const parts: string[] = [];
  if (pass) parts.push(`<p class="note">Histograms from one extra pass over the calibration data: ${esc(pass["samples"])} samples, ${esc(pass["tensors"])} tensors, ${esc(pass["bins"])} bins each, ${esc(pass["ms"])} ms (the cost of <code>--html</code>). Each method's range is computed on those histograms; the chosen one is what the model was quantized with.</p>`);
  const figures: string[] = [];
  const charted = new Set(acts.length <= MAX_CHARTS ? acts : [...acts].sort((x, y) => tailRatio(y) - tailRatio(x)).slice(0, MAX_CHARTS));
  if (charted.size < acts.length) parts.push(`<p class="note">${charted.size} of ${acts.length} tensors charted: those whose minmax range is widest against the other methods' (the heaviest tails); every tensor is in the table.</p>`);
  parts.push(methodLegend(methods));
  for (const a of acts) {
    if (!charted.has(a)) continue;
    const t = str(a["tensor"]) ?? "?";
    const ranges = obj(a["ranges"]) ?? {};
    const rules = Object.entries(ranges).flatMap(([m, r]) => {
      const [lo, hi] = arr(r);
      const chosen = m === a["chosen"] ? "chosen" : "other";
      return [lo, hi].filter((v): v is number => typeof v === "number").map((v) => ({ method: m, v, chosen }));
    });
    const spec = {
      title: { text: `${t} (${str(a["format"]) ?? ""})`, limit: 420 },
      width: 420,
      height: 110,
      layer: [
        histogramLayer(a, "activation value"),
        {
          data: { values: rules },
          mark: { type: "rule" as const },
          encoding: {
            x: { field: "v", type: "quantitative" as const },
            color: { field: "method", type: "nominal" as const, scale: { domain: methods, range: methods.map(colourOf) }, legend: null },
            strokeDash: { field: "method", type: "nominal" as const, scale: { domain: methods, range: methods.map(dashOf) }, legend: null },
            strokeWidth: { field: "chosen", type: "ordinal" as const, sort: ["chosen", "other"], scale: { domain: ["chosen", "other"], range: [3, 1.2] }, legend: null },
          },
        },
      ],
    };
    figures.push(`<div id="${ctx.row(t, `${id}-chart`, `histogram${tag}`)}">${await chartFigure(spec as never, `histogram of ${t} with each calibration method's clipping range`)}</div>`);
  }
  parts.push(`<div class="grid">${figures.join("\n")}</div>`);
  parts.push(
    table({
      caption: "Clipping range [lo, hi] by calibration method (chosen method in bold)",
      columns: [{ label: "tensor" }, { label: "node" }, { label: "format", keep: true }, { label: "min", numeric: true }, { label: "max", numeric: true }, ...methods.map((m) => ({ label: m, keep: true }))],
      rows: acts.map((a) => {
        const t = str(a["tensor"]) ?? "?";
        const ranges = obj(a["ranges"]) ?? {};
        const cell = (m: string) => {
          const [lo, hi] = arr(ranges[m]);
          const text = `${numCell(lo).html} … ${numCell(hi).html}`;
          return { html: m === a["chosen"] ? `<strong>${text}</strong>` : text, sort: typeof hi === "number" && typeof lo === "number" ? hi - lo : "" };
        };
        return { id: ctx.row(t, id, `range${tag}`), cells: [{ html: ctx.nameCell(t, t, id), sort: t }, str(a["node"]) ?? "(graph input)", str(a["format"]) ?? "", numCell(a["min"]), numCell(a["max"]), ...methods.map(cell)] };
      }),
    }),
  );
  return parts.join("\n");
};
