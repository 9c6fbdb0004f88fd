/**
 * Sections for capabilities that write their own keys into a command's
 * JSON. Each renders only when its key is present, so a run without the
 * capability shows nothing. The shapes read (all fields optional beyond
 * `layer`; any other array of objects under the key is shown as a table):
 *
 * Layers are named by `layer`, or `node` (quantize), or `source` (compile).
 *
 * - `rounding.layers[]`: { node, lossBefore, lossAfter } — learned weight
 *   rounding (AdaRound/GPTQ): per-layer reconstruction loss ‖W·x − Ŵ·x‖²
 *   with nearest rounding vs after optimization;
 * - `mixedPrecision.pareto[]`: { budget, metric, chosen } — the budget vs the
 *   measured metric of each candidate assignment, the chosen one marked; and
 *   `mixedPrecision.layers[]`: { layer, format } — the per-layer format map;
 *   quantize --mixed writes `mixed` (and `pareto.front[]` with --pareto),
 *   read into that shape by `mixedFromQuantize`;
 * - `resources` (compile --target hls: a list of { source, …numbers }; or
 *   `resources.layers[]`): C/HLS resource estimates per
 *   layer (e.g. multipliers, memory bits, cycles), one column per number.
 */
import { BASE, chartFigure, HIGHLIGHT, pairedBars } from "../chart.js";
import type { SectionBuilder, SectionInput } from "../context.js";
import { type Json, numOr, obj, objs, str } from "../doc.js";
import { esc, numCell, table } from "../html.js";

/** The layer a row describes: `layer`, or `node` as quantize's `rounding` and `mixed` objects name it. */
const layerOf = (r: Json) => str(r["layer"]) ?? str(r["node"]) ?? str(r["source"]);

/** Every array of objects directly under `value`, by key. */
const arraysOf = (value: Json) => Object.entries(value).filter(([, v]) => objs(v).length > 0).map(([k, v]) => [k, objs(v)] as const);

/** A sortable table of objects: one column per key seen, numbers right-aligned; layer names link across sections. */
function genericTable(input: SectionInput, caption: string, rows: readonly Json[], label: string): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const numeric = new Set(keys.filter((k) => rows.every((r) => r[k] === undefined || typeof r[k] === "number")));
  return table({
    caption,
    columns: keys.map((k) => ({ label: k, numeric: numeric.has(k) })),
    rows: rows.map((r) => {
      const layer = layerOf(r);
      return {
        id: layer ? input.ctx.row(layer, input.id, `${label}${input.tag}`) : undefined,
        cells: keys.map((k) => ((k === "layer" || k === "node" || k === "source") && layer ? { html: input.ctx.nameCell(layer, layer, input.id), sort: layer } : numeric.has(k) ? numCell(r[k]) : typeof r[k] === "object" ? JSON.stringify(r[k]) : String(r[k] ?? ""))),
      };
    }),
  });
}

const hookNote = (key: string) => `<p class="note hook">From the run's <code>${esc(key)}</code> key.</p>`;

export const roundingSection: SectionBuilder = async (input) => {
  const r = obj(input.run.doc["rounding"]);
  if (!r) return null;
  const layers = objs(r["layers"]);
  const parts = [hookNote("rounding")];
  if (layers.some((l) => typeof l["lossBefore"] === "number" && typeof l["lossAfter"] === "number")) {
    const spec = pairedBars({
      title: "Per-layer reconstruction loss, nearest vs learned rounding (lower is better)",
      rows: layers,
      layer: (l) => layerOf(l) ?? "?",
      fields: ["lossBefore", "lossAfter"],
      series: ["nearest rounding", "learned rounding"],
      yTitle: "layer",
      xTitle: "reconstruction loss (symlog)",
      xScale: "symlog",
    });
    parts.push(await chartFigure(spec as never, "bar chart of reconstruction loss before and after learned rounding per layer"));
  }
  for (const [k, rows] of arraysOf(r)) parts.push(genericTable(input, `rounding.${k}`, rows, "rounding"));
  return parts.join("\n");
};

/**
 * quantize's own keys in the `mixedPrecision` shape: `mixed.layers[]` {node,
 * group, chosen} as the format map, and `pareto.front[]` {limit, measured}
 * as the front, the point at the run's own budget limit chosen.
 */
function mixedFromQuantize(doc: Json): Json | undefined {
  const mixed = obj(doc["mixed"]);
  if (!mixed) return undefined;
  const pareto = obj(doc["pareto"]);
  const kind = str(pareto?.["kind"]);
  const limit = kind ? numOr(obj(obj(mixed["budgets"])?.[kind])?.["limit"]) : undefined;
  return {
    pareto: objs(pareto?.["front"]).map((p) => ({ budget: p["limit"], metric: p["measured"], chosen: limit !== undefined && p["limit"] === limit })),
    layers: objs(mixed["layers"]).map((l) => ({ layer: l["node"], group: l["group"], format: l["chosen"] })),
  };
}

export const mixedPrecisionSection: SectionBuilder = async (input) => {
  const own = obj(input.run.doc["mixedPrecision"]);
  const mp = own ?? mixedFromQuantize(input.run.doc);
  if (!mp) return null;
  const parts = [hookNote(own ? "mixedPrecision" : "mixed")];
  const pareto = objs(mp["pareto"]).filter((p) => typeof p["budget"] === "number" && typeof p["metric"] === "number");
  if (pareto.length) {
    const spec = {
      title: "Mixed precision: budget vs measured metric (chosen point marked)",
      width: 420,
      height: 220,
      data: { values: pareto.map((p) => ({ budget: p["budget"], metric: p["metric"], point: p["chosen"] === true ? "chosen" : "candidate" })) },
      layer: [
        { mark: { type: "line" as const, color: BASE }, encoding: { x: { field: "budget", type: "quantitative" as const, title: "budget" }, y: { field: "metric", type: "quantitative" as const, title: "measured metric", scale: { zero: false } } } },
        { mark: { type: "point" as const, filled: true, size: 70 }, encoding: { x: { field: "budget", type: "quantitative" as const }, y: { field: "metric", type: "quantitative" as const }, shape: { field: "point", type: "nominal" as const, legend: { title: null } }, color: { field: "point", type: "nominal" as const, scale: { domain: ["chosen", "candidate"], range: [HIGHLIGHT, BASE] }, legend: { title: null } } } },
      ],
    };
    parts.push(await chartFigure(spec as never, "Pareto front of budget against measured metric with the chosen point marked"));
  }
  for (const [k, rows] of arraysOf(mp)) parts.push(genericTable(input, `mixedPrecision.${k}`, rows, k === "layers" ? "format" : "mixed"));
  return parts.join("\n");
};

/**
 * One row of compile --target hls's list: the program's `source` ("Conv
 * 'name'") becomes the layer's node name, so it links to the layer's other
 * rows; `operandBits` [activation, weight] prints as "a×w".
 */
function hlsLayerRow(r: Json): Json {
  const name = str(r["source"])?.match(/^\S+ '(.*)'$/)?.[1] ?? str(r["source"]);
  const bits = Array.isArray(r["operandBits"]) ? (r["operandBits"] as unknown[]).join("×") : undefined;
  // The columns a designer reads first; the JSON keeps the rest (MACs, weight count, DSPs per multiplier).
  return { layer: name, kind: r["kind"], operandBits: bits, reuseFactor: r["reuseFactor"], multipliers: r["multipliers"], dsp: r["dsp"], weightBits: r["weightBits"], accumulatorBits: r["accumulatorBits"], ii: r["ii"] };
}

export const resourcesSection: SectionBuilder = async (input) => {
  const raw = input.run.doc["resources"];
  // compile --target hls writes a list of layers (named `source`); other producers may write { layers: [...] }.
  const res = Array.isArray(raw) ? { layers: objs(raw).map(hlsLayerRow) } : obj(raw);
  if (!res) return null;
  const parts = [hookNote("resources")];
  for (const [k, rows] of arraysOf(res)) parts.push(genericTable(input, `resources.${k}`, rows, "resources"));
  return parts.join("\n");
};

export const laterSections = [
  { key: "rounding", title: "Learned rounding: reconstruction loss", build: roundingSection },
  { key: "mixed-precision", title: "Mixed precision", build: mixedPrecisionSection },
  { key: "resources", title: "C/HLS resource estimates", build: resourcesSection },
] as const;
