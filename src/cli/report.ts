/**
 * `fixq report R1.json [R2.json …] -o FILE.html`: one HTML page (src/report)
 * from any commands' `--json` documents, so a CI job can render after the
 * fact and put runs side by side. Every file is read and checked before
 * anything is written; the page is written atomically.
 */
import type { Command } from "commander";
import { writeFileAtomic } from "../ir/atomic-write.js";
import { readRun } from "../report/doc.js";
import { buildReport } from "../report/page.js";
import { checkJsonFile } from "./file-kinds.js";
import { guardOutputs } from "./output-guard.js";

export const REPORT_HELP = `
Each input is a --json document of quantize, eval, compile (or any fixq
command: a document with a 'command' field). The page has one part per input,
in the order given: a summary card, then every section that input has data
for (per-layer SQNR: eval --per-layer; activation and weight histograms:
quantize --html; equalization and bias correction: quantize with --cle or
--bias-correction; integer lowering: compile). A layer's name links to its
rows in the other sections.

Exit codes:
  0  written
  1  an input cannot be read or is not a fixq --json document; nothing is written
  2  usage error: a bad flag, or -o aimed at an input, a folder or a missing folder

Example:
  fixq report quant.json eval.json compile.json -o report.html`;

/** Renders the page; returns the exit code. */
export async function runReport(files: readonly string[], output: string): Promise<number> {
  guardOutputs(
    files.map((f, i) => ({ what: `input ${i + 1}`, path: f })),
    [{ what: "-o", path: output }],
  );
  for (const f of files) checkJsonFile(f, "a fixq --json document", "data");
  const runs = files.map(readRun);
  writeFileAtomic(output, new TextEncoder().encode(await buildReport(runs)));
  process.stderr.write(`wrote ${output}: ${runs.length} run${runs.length === 1 ? "" : "s"} (${runs.map((r) => r.command).join(", ")})\n`);
  return 0;
}

/** Registers `report` on the program; `done` receives the exit code. */
export function addReportCommand(program: Command, done: (code: number) => void): void {
  program
    .command("report")
    .description("render one self-contained HTML page from commands' --json outputs")
    .argument("<json...>", "--json documents of quantize, eval, compile, …")
    .requiredOption("-o, --output <file>", "the HTML file to write")
    .addHelpText("after", REPORT_HELP)
    .action(async (files: string[], opts: { output: string }) => {
      done(await runReport(files, opts.output));
    });
}
