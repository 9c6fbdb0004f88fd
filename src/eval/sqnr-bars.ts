/**
 * The at-a-glance view of `eval --per-layer` in the terminal: one bar per
 * quantized activation in graph order, its length proportional to the
 * cumulative SQNR,
 *     cells = min(width, round(8 · width · SQNR / S) / 8),
 * S the best finite SQNR of a computed tensor (graph inputs left out),
 * drawn in eighth-cell blocks, the worst layers marked (and red when the
 * stream takes colour: chalk drops colour when it is not a TTY). The bar
 * width adapts to the terminal's columns.
 */
import chalk from "chalk";
import { escapeControl } from "../ir/errors.js";
import type { LayerError, PerLayerResult } from "./per-layer.js";

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
/** Bar width bounds, in terminal cells. */
const MIN_BAR = 10;
const MAX_BAR = 40;

/** A bar of `cells` (fractional, in eighths) terminal cells. */
export function bar(cells: number): string {
  const eighths = Math.max(0, Math.round(cells * 8));
  return "█".repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}

const dbText = (x: number) => (Number.isNaN(x) ? "nan" : x === Number.POSITIVE_INFINITY ? "inf" : x.toFixed(1));

/** Lines (without newlines) of the bar view for `columns` terminal columns; the `worst` lowest SQNRs are marked. */
export function sqnrBars(p: PerLayerResult, columns: number, worst = 3): string[] {
  const acts = [...p.activations].sort((a, b) => (a.graphIndex ?? 0) - (b.graphIndex ?? 0));
  if (acts.length === 0) return [];
  // The scale: the best finite SQNR of a computed tensor (a graph input is near exact and would flatten the rest); longer bars are cut at full width.
  const computed = acts.filter((a) => a.node !== null);
  const finite = (computed.length ? computed : acts).map((a) => a.sqnrDb).filter(Number.isFinite);
  const top = Math.max(1e-9, ...finite);
  const worstSet = new Set<LayerError>([...acts].sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, Math.min(worst, Math.ceil(acts.length / 4))));
  const width = Math.max(MIN_BAR, Math.min(MAX_BAR, columns - 50));
  const lines = [`SQNR per quantized activation in graph order (full bar = ${dbText(top)} dB; ◀ worst):`];
  for (const a of acts) {
    const cells = a.sqnrDb === Number.POSITIVE_INFINITY ? width : Number.isFinite(a.sqnrDb) ? Math.min(width, (width * Math.max(0, a.sqnrDb)) / top) : 0;
    const b = bar(cells).padEnd(width);
    const mark = worstSet.has(a);
    const room = Math.max(8, columns - width - 17);
    const name = escapeControl(a.tensor);
    const label = name.length > room ? `…${name.slice(name.length - room + 1)}` : name;
    lines.push(`  ${mark ? chalk.red(b) : b} ${dbText(a.sqnrDb).padStart(6)} dB${mark ? " ◀" : "  "} ${label}`);
  }
  return lines;
}
