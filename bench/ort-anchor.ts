/**
 * ONNX Runtime's own quantize_static as a benchmark anchor
 * (scripts/ort_quantize_anchor.py, run by FIXQ_BENCH_PYTHON, default
 * python3): whether it can run, and one run on a model and a calibration .npy.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../src/util/package-root.js";

export const benchPython = process.env["FIXQ_BENCH_PYTHON"] || "python3";

export function lastLine(s: string | null | undefined): string {
  return (s ?? "").trim().split("\n").pop()?.trim() || "(no output)";
}

/** Why the anchor cannot run here (FIXQ_BENCH_ANCHOR=0, no Python, no onnxruntime.quantization), or undefined. */
export function anchorUnavailable(python = benchPython): string | undefined {
  if (process.env["FIXQ_BENCH_ANCHOR"] === "0") return "FIXQ_BENCH_ANCHOR=0";
  const r = spawnSync(python, ["-c", "import onnxruntime.quantization"], { encoding: "utf8" });
  if (r.error) return `${python} not found (${r.error.message})`;
  if (r.status !== 0) return `${python} -c "import onnxruntime.quantization" failed: ${lastLine(r.stderr)}`;
  return undefined;
}

/** Quantizes `model` with quantize_static under `settings` into `out`: the script's JSON report, or why it failed. */
export function runQuantizeAnchor(model: string, calib: string, out: string, settings: string, python = benchPython): { info: Record<string, unknown> } | { error: string } {
  const r = spawnSync(python, [join(packageRoot(), "scripts/ort_quantize_anchor.py"), model, calib, out, settings], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) return { error: `anchor script failed (${r.error?.message ?? `exit ${r.status}`}): ${lastLine(r.stderr)}` };
  return { info: JSON.parse(lastLine(r.stdout)) as Record<string, unknown> };
}
