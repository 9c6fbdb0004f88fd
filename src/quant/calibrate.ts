/**
 * Calibration: runs the float model in onnxruntime (graph optimizations off,
 * so no fusion hides a tensor) over the calibration samples in batches, with
 * every tensor to be quantized exposed as an extra output, and feeds each
 * batch into a streaming histogram per tensor. No raw activation is kept
 * beyond the current batch, so memory does not grow with the sample count.
 */
import { createHash, type Hash } from "node:crypto";
import { StreamingHistogram } from "../calib/histogram.js";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { OrtSession } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { type DataSource, modelInputs } from "./feeds.js";

export interface CalibrationResult {
  readonly histograms: Map<string, StreamingHistogram>;
  readonly samples: number;
  /** SHA-256 over the calibration data (names, row shapes and bytes), for provenance. */
  readonly sha256: string;
}

export async function calibrate(
  model: Model,
  source: DataSource,
  tensors: readonly string[],
  opts: { batchSize: number; threads?: number; progress?: Progress },
): Promise<CalibrationResult> {
  const inputs = new Set(modelInputs(model.graph!).map((v) => v.name));
  const exposed = tensors.filter((t) => !inputs.has(t));
  const session = await OrtSession.create(model, { optimization: "disabled", threads: opts.threads, extraOutputs: exposed });
  const histograms = new Map<string, StreamingHistogram>();
  for (const t of tensors) histograms.set(t, new StreamingHistogram());
  const hashes = new Map<string, Hash>();
  let samples = 0;
  try {
    await session.runSource(
      source,
      opts.batchSize,
      (out, feeds, _start, count) => {
        samples += count;
        for (const t of exposed) {
          const v = out[t];
          if (!v) throw new FixqError("runtime", `calibration did not produce tensor '${t}'`);
          histograms.get(t)!.update(v.data as Float32Array);
        }
        for (const [name, f] of Object.entries(feeds)) {
          histograms.get(name)?.update(f.data as Float32Array);
          if (!hashes.has(name)) hashes.set(name, createHash("sha256").update(`${name}:${f.dtype}:${f.dims.slice(1).join("x")};`));
          const d = f.data as Float32Array;
          hashes.get(name)!.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        }
      },
      opts.progress ?? silentProgress,
    );
  } finally {
    await session.release();
  }
  // One digest per input, combined in name order: independent of the batch size.
  const all = createHash("sha256");
  for (const name of [...hashes.keys()].sort()) all.update(`${name}=${hashes.get(name)!.digest("hex")};`);
  return { histograms, samples, sha256: all.digest("hex") };
}
