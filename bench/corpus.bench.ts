/**
 * `npm run bench:corpus [NAME…]`: the real-model corpus table (issue 13 §7).
 * Every model of test/helpers/corpus.ts goes through `fixq quantize` (default
 * recipe, 32 generated or real calibration samples); a written model is run in
 * ONNX Runtime against its float original on 64 other samples, in integer
 * kernels (optimization "all") and fake-quant (Q/DQ as written). The float
 * model measured in the same run is the anchor of every figure: SQNR of the
 * quantized output against it, top-1 agreement with it over the output's last
 * axis, and size as a ratio of its file. Names given on the command line
 * select rows by substring.
 *
 * Size anchor: ONNX Runtime's own quantize_dynamic on the same file
 * (scripts/ort_dynamic_anchor.py, run by FIXQ_BENCH_PYTHON, default python3;
 * the column says why where that interpreter lacks onnxruntime).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../src/util/package-root.js";
import { CORPUS, type CorpusCase, type CorpusRow, runCorpusCase } from "../test/helpers/corpus.js";

const wanted = process.argv.slice(2);
const cases = CORPUS.filter((c) => wanted.length === 0 || wanted.some((w) => c.name.toLowerCase().includes(w.toLowerCase())));
const dir = mkdtempSync(join(tmpdir(), "fixq-bench-corpus-"));

const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
const db = (x: number | undefined) => (x === undefined ? "" : Number.isFinite(x) ? `${x.toFixed(1)} dB` : "exact");
const pct = (x: number | undefined) => (x === undefined ? "" : `${(100 * x).toFixed(1)}%`);

const python = process.env["FIXQ_BENCH_PYTHON"] || "python3";
const probe = spawnSync(python, ["-c", "import onnxruntime.quantization"], { encoding: "utf8" });
const anchorSkip = probe.error ? `${python} not found` : probe.status !== 0 ? `no onnxruntime in ${python}` : undefined;
if (anchorSkip) process.stderr.write(`notice: ORT size anchor skipped (${anchorSkip}); set FIXQ_BENCH_PYTHON to a Python with onnxruntime\n`);

/** The size ORT's quantize_dynamic writes for the same model, as a ratio of the float file. */
function ortAnchor(c: CorpusCase, before: number): string {
  if (anchorSkip) return "skipped";
  const r = spawnSync(python, [join(packageRoot(), "scripts/ort_dynamic_anchor.py"), c.path, join(dir, "ort-anchor.onnx")], { encoding: "utf8" });
  if (r.status !== 0) return `failed: ${r.stderr.trim().split("\n").pop()}`;
  const bytes = (JSON.parse(r.stdout.trim().split("\n").pop()!) as { bytes: number }).bytes;
  return `${mb(bytes)} (×${(bytes / before).toFixed(2)})`;
}

function cells(row: CorpusRow, c: CorpusCase): string[] {
  if (!row.written) {
    const why = row.stderr.trim().replace(/^error: \S+: /, "").replace(/^error: /, "");
    return [row.name, `refused: ${why}`, "nothing written", mb(row.bytesBefore), ortAnchor(c, row.bytesBefore), "", "", "", ""];
  }
  const loads = row.ortLoads ? "yes" : `NO: ${row.ortError}`;
  const size = `${mb(row.bytesBefore)} → ${mb(row.bytesAfter!)} (×${(row.bytesAfter! / row.bytesBefore).toFixed(2)})`;
  return [row.name, "quantized", loads, size, ortAnchor(c, row.bytesBefore), db(row.sqnrDb), pct(row.agreement), db(row.fakeQuantSqnrDb), pct(row.fakeQuantAgreement)];
}

const header = ["model", "result", "ORT loads it", "size before → after", "ORT quantize_dynamic size", "SQNR (int kernels)", "agreement", "SQNR (fake-quant)", "agreement (fake-quant)"];
const rows: string[][] = [];
let invalid = 0;
try {
  for (const c of cases) {
    const row = await runCorpusCase(c, dir, { calibSamples: 32, evalSamples: 64 });
    if (row.written && !row.ortLoads) invalid++;
    rows.push(cells(row, c));
    process.stderr.write(`${c.name}: done\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => " --- ").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(`\ninvalid models written: ${invalid}. Inputs: generated (PaddleOCR: images of text-like strokes; BERT: ids uniform over the vocabulary, mask 1; others uniform [-1, 1)) except the ViTs (Fashion-MNIST calibration and eval rows); agreement = same argmax over the first output's last axis.`);
