/**
 * The PyTorch AdaRound anchor of bench:rounding (bench/adaround_anchor.py,
 * run by FIXQ_BENCH_PYTHON, default python3): whether it can run here, and
 * one run on fixq's nearest-rounded QDQ model (the grid), with fixq's
 * AdaRound hyperparameters, the same calibration samples and thread count.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { saveModel } from "../src/ir/onnx/save.js";
import { prepareFloatModel } from "../src/passes/pipeline.js";
import { ADAROUND_DEFAULTS } from "../src/quant/rounding/adaround.js";

export const anchorPython = process.env["FIXQ_BENCH_PYTHON"] || "python3";
/** The seed of the anchor's sample order (FIXQ_ANCHOR_SEED, default 0). */
export const anchorSeed = Number(process.env["FIXQ_ANCHOR_SEED"] ?? 0);
/** Samples per Adam step of the anchor (FIXQ_ANCHOR_BATCH, default 32). */
export const anchorBatch = Number(process.env["FIXQ_ANCHOR_BATCH"] ?? 32);

const lastLine = (s: string) => s.trim().split("\n").pop() ?? "";

/** Why the anchor cannot run here (FIXQ_BENCH_ANCHOR=0, no Python, no torch/onnx/onnxruntime), or undefined. */
export function adaroundAnchorUnavailable(): string | undefined {
  if (process.env["FIXQ_BENCH_ANCHOR"] === "0") return "FIXQ_BENCH_ANCHOR=0";
  const r = spawnSync(anchorPython, ["-c", "import torch, onnx, onnxruntime"], { encoding: "utf8" });
  if (r.error) return `${anchorPython} not found (${r.error.message})`;
  if (r.status !== 0) return `${anchorPython} -c "import torch, onnx, onnxruntime" failed: ${lastLine(r.stderr)}`;
  return undefined;
}

export interface AnchorRun {
  readonly model: Model;
  /** The script's own wall time after its imports: capture, optimisation, writing. */
  readonly seconds: number;
  /** CPU time of the same span (user + system, every thread). */
  readonly cpuSeconds: number;
  readonly keptNearest: number;
  readonly lossBefore: number;
  readonly lossAfter: number;
}

/**
 * AdaRound in PyTorch on `nearest` (fixq's QDQ model with nearest codes)
 * whose float weights are `floatModel`'s after fixq's float passes (the
 * weights fixq rounds: e.g. the ViT's attention scale is folded into its q
 * projection, pipeline.ts).
 */
export function runAdaroundAnchor(floatModel: Model, nearest: Model, calib: string, threads: number, iters = ADAROUND_DEFAULTS.iters): AnchorRun | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), "fixq-adaround-anchor-"));
  try {
    const prepared = prepareFloatModel(floatModel, { cle: false, absorbBias: false, relu6ToRelu: false }).model;
    saveModel(prepared, join(dir, "float.onnx"));
    const o = ADAROUND_DEFAULTS;
    const settings = { iters, lr: o.lr, lam: o.lambda, warmup: o.warmup, beta_start: o.betaStart, beta_end: o.betaEnd, batch: anchorBatch, threads, seed: anchorSeed };
    writeFileSync(join(dir, "settings.json"), JSON.stringify(settings));
    saveModel(nearest, join(dir, "nearest.onnx"));
    const out = join(dir, "anchor.onnx");
    const r = spawnSync(anchorPython, [join(import.meta.dirname, "adaround_anchor.py"), join(dir, "float.onnx"), join(dir, "nearest.onnx"), calib, out, join(dir, "settings.json")], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) return { error: `anchor failed (${r.error?.message ?? `exit ${r.status}`}): ${lastLine(r.stderr)}` };
    const info = JSON.parse(lastLine(r.stdout)) as { seconds: number; cpu_seconds: number; kept_nearest: number; loss_before: number; loss_after: number };
    return { model: loadModel(out), seconds: info.seconds, cpuSeconds: info.cpu_seconds, keptNearest: info.kept_nearest, lossBefore: info.loss_before, lossAfter: info.loss_after };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
