/**
 * Charts: a Vega-Lite specification compiled to Vega and rendered to a static
 * SVG string in Node (no browser, no canvas, no script in the page). The SVG
 * is inlined in the page, so the file needs nothing from the network and a
 * printout keeps every chart.
 *
 * Colours are the Okabe–Ito palette (distinguishable with the common forms
 * of colour blindness); marks that must be told apart also differ in shape
 * or dash. Text uses the reader's generic sans-serif font: no font is
 * embedded or fetched.
 */
import type { TopLevelSpec } from "vega-lite";
import { esc } from "./html.js";

/** Okabe & Ito (2008): blue, orange, bluish green, vermillion, sky blue, reddish purple, yellow, black. */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"] as const;
/** The colour that marks the worst layers and failed checks (vermillion). */
export const HIGHLIGHT = "#D55E00";
/** The colour of ordinary bars (blue). */
export const BASE = "#0072B2";

const CONFIG = {
  font: "sans-serif",
  background: "white",
  range: { category: [...PALETTE] },
  axis: { labelFontSize: 10, titleFontSize: 11, labelLimit: 280 },
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
  title: { fontSize: 12, anchor: "start" as const },
  view: { stroke: "#ccc" },
};

/**
 * Vega and Vega-Lite, imported on the first chart: loading them takes most of a
 * second, which every command that draws no chart would otherwise pay at start-up.
 * Vega-Lite's compile-time notes stay out of the command's output (the specs are
 * ours; tests check the charts render).
 */
let renderer: Promise<{ vega: typeof import("vega"); vl: typeof import("vega-lite"); quiet: ReturnType<typeof import("vega").logger> }> | undefined;
function loadRenderer() {
  renderer ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vl]) => ({ vega, vl, quiet: vega.logger(vega.None) }));
  return renderer;
}

/** A chart spec without the shared config: title and axis titles are required by the callers' conventions. */
export type ChartSpec = TopLevelSpec;

/**
 * Vega's SVG without what draws nothing: empty background/foreground paths,
 * default-valued attributes, the classes and ARIA descriptions of axis and
 * mark groups (the figure carries one description for the whole chart),
 * labels hidden for overlap; coordinates keep 2 decimals (1/100 pixel).
 * About a third of Vega's size for a small chart.
 */
export function compactSvg(svg: string): string {
  return svg
    .replace(/<path class="background" aria-hidden="true" d="M0,0h0v0h0Z" pointer-events="none"\/>/g, "")
    .replace(/<path class="foreground" aria-hidden="true" d="" pointer-events="none" display="none"\/>/g, "")
    .replace(/ (?:pointer-events="none"|opacity="1"|aria-hidden="true"|stroke-miterlimit="4")/g, "")
    .replace(/ (?:class|role|aria-roledescription|aria-label)="[^"]*"/g, "")
    .replace(/<text[^>]* opacity="0"[^>]*>[^<]*<\/text>/g, "")
    .replace(/(\.\d{2})\d+/g, "$1")
    .replace(/<g><\/g>/g, "");
}

/** Renders `spec` to an SVG string (static, scaled to fit its container by CSS). */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const { vega, vl, quiet } = await loadRenderer();
  const compiled = vl.compile({ ...spec, config: { ...CONFIG, ...(spec as { config?: object }).config } } as TopLevelSpec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.None });
  try {
    return compactSvg(await view.toSVG()).replace(/^<svg /, '<svg role="img" focusable="false" ');
  } finally {
    view.finalize();
  }
}

/** A chart in a `<figure>`, with `alt` as its accessible description and a caption under it. */
export async function chartFigure(spec: ChartSpec, alt: string, caption?: string): Promise<string> {
  const svg = (await renderSvg(spec)).replace(/^<svg /, `<svg aria-label="${esc(alt)}" `);
  return `<figure class="chart">${svg}${caption ? `<figcaption>${esc(caption)}</figcaption>` : ""}</figure>`;
}

/** Two bars per row (e.g. before/after), rows down the y axis in the order given: `series[i]` reads field `fields[i]`. */
export function pairedBars(p: {
  readonly title: string;
  readonly rows: readonly Readonly<Record<string, unknown>>[];
  readonly layer: (row: Readonly<Record<string, unknown>>) => string;
  readonly fields: readonly [string, string];
  readonly series: readonly [string, string];
  readonly yTitle: string;
  readonly xTitle: string;
  readonly xScale?: "log" | "symlog" | "linear";
}): ChartSpec {
  const series = [...p.series];
  const values = p.rows.flatMap((r) => series.map((s, i) => ({ layer: p.layer(r), series: s, v: r[p.fields[i]!] })));
  return {
    title: `${p.title}; ${p.yTitle}`,
    width: 480,
    height: { step: 10 },
    data: { values },
    mark: { type: "bar" },
    encoding: {
      y: { field: "layer", type: "nominal", sort: p.rows.map(p.layer), title: null },
      yOffset: { field: "series", type: "nominal", sort: series },
      x: { field: "v", type: "quantitative", title: p.xTitle, scale: { type: p.xScale ?? "linear" } },
      color: { field: "series", type: "nominal", sort: series, legend: { title: null } },
    },
  } as ChartSpec;
}
