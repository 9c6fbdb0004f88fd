/**
 * `--html FILE` on quantize, eval and compile: the command's `--json`
 * document rendered as the HTML report (src/report), written atomically.
 * The page is built from the JSON text itself (parsed back), so
 * `fixq report run.json` later draws exactly the same page.
 */
import { writeFileAtomic } from "../ir/atomic-write.js";
import { asRun } from "../report/doc.js";
import { buildReport } from "../report/page.js";
import { emitJson, type JsonTarget } from "./json-output.js";

/** Renders `jsonText` (one command's --json document) as the report page at `file`. */
export async function writeHtmlFromJson(file: string, jsonText: string, source: string): Promise<void> {
  const page = await buildReport([asRun(JSON.parse(jsonText), source)]);
  writeFileAtomic(file, new TextEncoder().encode(page));
}

/** Writes `{ command, ...body }` as --json (when asked) and as the --html page (when asked). */
export async function emitRun(out: { json?: JsonTarget; html?: string }, command: string, body: object): Promise<void> {
  if (out.json) emitJson(out.json, command, body);
  if (out.html) await writeHtmlFromJson(out.html, JSON.stringify({ command, ...body }), `fixq ${command}`);
}
