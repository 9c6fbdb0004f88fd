/**
 * Weight ranges (`quantize --html`): per quantized weight, its value
 * histogram and, for per-channel weights, each output channel's [min, max]
 * as a band over the channel index. A channel far narrower than the widest
 * wastes levels under per-tensor scales; the spread
 *     max_c max|w_c| / min_c max|w_c|
 * (dead channels left out) is what cross-layer equalization reduces.
 */
import { BASE, chartFigure } from "../chart.js";
import type { SectionBuilder } from "../context.js";
import { arr, at, type Json, obj, objs, str } from "../doc.js";
import { numCell, table } from "../html.js";
import { histogramLayer, MAX_CHARTS } from "./ranges.js";

/** max/min over channels of max|w|, channels below 1e-6 of the largest left out; undefined without channels. */
export function channelSpread(w: Json): number | undefined {
  const ch = obj(w["channels"]);
  if (!ch) return undefined;
  const lo = arr(ch["min"]).map(Number);
  const hi = arr(ch["max"]).map(Number);
  const amax = hi.map((h, i) => Math.max(Math.abs(h), Math.abs(lo[i] ?? 0)));
  const top = Math.max(0, ...amax);
  const live = amax.filter((a) => a > 1e-6 * top);
  return top > 0 && live.length ? top / Math.min(...live) : 1;
}

/** Channels drawn per band at most; beyond, each point is the envelope (min of mins, max of maxes) of a run of channels. */
export const BAND_POINTS = 128;

/** The band's points: one per channel, or envelopes of consecutive channels when there are more than BAND_POINTS. */
export function bandPoints(min: readonly number[], max: readonly number[]): { c: number; lo: number; hi: number }[] {
  const per = Math.max(1, Math.ceil(min.length / BAND_POINTS));
  const out: { c: number; lo: number; hi: number }[] = [];
  for (let c = 0; c < min.length; c += per) {
    const end = Math.min(min.length, c + per);
    out.push({ c, lo: Math.min(...min.slice(c, end)), hi: Math.max(...max.slice(c, end)) });
  }
  return out;
}

export const weightRangesSection: SectionBuilder = async ({ run, ctx, id, tag }) => {
  const weights = objs(at(run.doc, "histograms", "weights"));
  if (weights.length === 0) return null;
  const figures: string[] = [];
  const charted = new Set(weights.length <= MAX_CHARTS ? weights : [...weights].sort((x, y) => (channelSpread(y) ?? 1) - (channelSpread(x) ?? 1)).slice(0, MAX_CHARTS));
  if (charted.size < weights.length) figures.push(`<p class="note">${charted.size} of ${weights.length} weights charted: those with the widest per-channel spread; every weight is in the table.</p>`);
  for (const w of weights) {
    if (!charted.has(w)) continue;
    const t = str(w["tensor"]) ?? "?";
    const ch = obj(w["channels"]);
    const hist = { title: "values", width: 240, height: 100, ...histogramLayer(w, "weight value") };
    const band = ch && {
      title: `per-channel range (axis ${ch["axis"]})`,
      width: 240,
      height: 100,
      data: { values: bandPoints(arr(ch["min"]).map(Number), arr(ch["max"]).map(Number)) },
      mark: { type: "area" as const, color: BASE, opacity: 0.6, interpolate: "step-after" as const },
      encoding: { x: { field: "c", type: "quantitative" as const, title: "output channel" }, y: { field: "lo", type: "quantitative" as const, title: "weight value" }, y2: { field: "hi" } },
    };
    const spec = { title: { text: `${t} (read by ${str(w["node"]) ?? "?"})`, limit: 520 }, hconcat: band ? [hist, band] : [hist] };
    figures.push(`<div id="${ctx.row(t, `${id}-chart`, `weight chart${tag}`)}">${await chartFigure(spec as never, `value histogram${band ? " and per-channel range band" : ""} of weight ${t}`)}</div>`);
  }
  return [
    `<div class="grid">${figures.join("\n")}</div>`,
    table({
      caption: "Quantized weights: range and per-channel spread",
      columns: [{ label: "tensor" }, { label: "read by" }, { label: "min", numeric: true }, { label: "max", numeric: true }, { label: "channels", numeric: true }, { label: "spread", numeric: true }],
      rows: weights.map((w) => {
        const t = str(w["tensor"]) ?? "?";
        const ch = obj(w["channels"]);
        const node = str(w["node"]);
        return { id: ctx.row(t, id, `weights${tag}`, [node]), cells: [{ html: ctx.nameCell(t, t, id, [node]), sort: t }, str(w["node"]) ?? "", numCell(w["min"]), numCell(w["max"]), numCell(ch ? arr(ch["min"]).length : undefined), numCell(channelSpread(w))] };
      }),
    }),
  ].join("\n");
};
