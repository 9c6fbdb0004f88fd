/**
 * The HTML report: one self-contained page from one or more runs' `--json`
 * documents. Each run becomes an article: its summary card, then every
 * section its document has data for, in a fixed order (SECTIONS). Charts are
 * inline SVG (chart.ts), the stylesheet and the sorting script are inline,
 * and a Content-Security-Policy forbids every fetch, so the file opens from
 * disk with no network.
 */
import { ReportContext, type SectionBuilder } from "./context.js";
import { at, type RunDoc, str } from "./doc.js";
import { esc } from "./html.js";
import { biasCorrectionSection, equalizationSection } from "./sections/equalization.js";
import { laterSections } from "./sections/later.js";
import { loweringSection } from "./sections/lowering.js";
import { perLayerSection } from "./sections/per-layer.js";
import { activationRangesSection } from "./sections/ranges.js";
import { summaryCard } from "./sections/summary.js";
import { weightRangesSection } from "./sections/weights.js";
import { CSS, SORT_SCRIPT } from "./style.js";

/** The sections in page order: anchor suffix, heading, builder. */
export const SECTIONS: readonly { readonly key: string; readonly title: string; readonly build: SectionBuilder }[] = [
  { key: "per-layer", title: "Per-layer SQNR", build: perLayerSection },
  { key: "activation-ranges", title: "Activation ranges and clipping", build: activationRangesSection },
  { key: "weight-ranges", title: "Weight ranges", build: weightRangesSection },
  { key: "equalization", title: "Cross-layer equalization", build: equalizationSection },
  { key: "bias-correction", title: "Bias correction", build: biasCorrectionSection },
  { key: "lowering", title: "Integer lowering", build: loweringSection },
  ...laterSections,
];

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/** The whole page for `runs` (at least one). */
export async function buildReport(runs: readonly RunDoc[]): Promise<string> {
  const ctx = new ReportContext();
  const articles: string[] = [];
  const toc: string[] = [];
  for (const [i, run] of runs.entries()) {
    const prefix = `r${i + 1}`;
    const tag = runs.length > 1 ? ` ${prefix}` : "";
    const parts = [summaryCard(run)];
    const names: string[] = [];
    for (const s of SECTIONS) {
      const id = `${prefix}-${s.key}`;
      const body = await s.build({ run, ctx, id, tag });
      if (body === null) continue;
      parts.push(`<section id="${id}" class="report-section" data-section="${s.key}"><h3>${esc(s.title)}</h3>\n${body}\n</section>`);
      names.push(`<li><a href="#${id}">${esc(s.title)}</a></li>`);
    }
    toc.push(`<li><a href="#${prefix}">${esc(`${prefix}: fixq ${run.command}`)}</a> <small>${esc(run.source)}</small>${names.length ? `<ul>${names.join("")}</ul>` : ""}</li>`);
    articles.push(`<article id="${prefix}" class="run" data-command="${esc(run.command)}"><h2>${esc(`${prefix}: fixq ${run.command}`)} <small>${esc(run.source)}</small></h2>\n${parts.join("\n")}\n</article>`);
  }
  const models = [...new Set(runs.flatMap((r) => str(at(r.doc, "input", "path")) ?? str(at(r.doc, "inputs", "candidate")) ?? str(r.doc["model"]) ?? []).map((m) => m.split("/").pop()!))];
  const title = `fixq report: ${runs.map((r) => r.command).join(", ")}${models.length ? ` — ${models.join(", ")}` : ""}`;
  const body = ctx.resolve(articles.join("\n"));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><nav aria-label="contents"><ul>${toc.join("")}</ul></nav></header>
<main>
${body}
</main>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}
