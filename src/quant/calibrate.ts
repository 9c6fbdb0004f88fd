/**
 * Calibration: runs the float model in onnxruntime (graph optimizations off,
 * so no fusion hides a tensor) over the calibration samples in batches, with
 * every tensor to be quantized exposed as an extra output, and feeds each
 * batch into a streaming histogram per tensor. No raw activation is kept
 * beyond the current batch, so memory does not grow with the sample count.
 */
import { createHash } from "node:crypto";
import { StreamingHistogram } from "../calib/histogram.js";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { type HostTensor, OrtSession } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";

export interface CalibrationResult {
  readonly histograms: Map<string, StreamingHistogram>;
  readonly samples: number;
}

export async function calibrate(
  model: Model,
  feeds: Record<string, HostTensor>,
  tensors: readonly string[],
  opts: { batchSize: number; threads?: number; progress?: Progress },
): Promise<CalibrationResult> {
  const inputs = new Set(Object.keys(feeds));
  const exposed = tensors.filter((t) => !inputs.has(t));
  const session = await OrtSession.create(model, { optimization: "disabled", threads: opts.threads, extraOutputs: exposed });
  const histograms = new Map<string, StreamingHistogram>();
  for (const t of tensors) histograms.set(t, new StreamingHistogram());
  let samples = 0;
  try {
    await session.runBatches(
      feeds,
      opts.batchSize,
      (out, _start, count) => {
        samples += count;
        for (const t of exposed) {
          const v = out[t];
          if (!v) throw new FixqError("runtime", `calibration did not produce tensor '${t}'`);
          histograms.get(t)!.update(v.data as Float32Array);
        }
      },
      opts.progress ?? silentProgress,
    );
    // Graph inputs are calibrated straight from the data.
    for (const name of inputs) {
      const h = histograms.get(name);
      if (h) h.update(feeds[name]!.data as Float32Array);
    }
  } finally {
    await session.release();
  }
  return { histograms, samples };
}

/** SHA-256 of the calibration data (names, shapes and bytes), for provenance. */
export function hashFeeds(feeds: Record<string, HostTensor>): string {
  const h = createHash("sha256");
  for (const name of Object.keys(feeds).sort()) {
    const t = feeds[name]!;
    h.update(`${name}:${t.dtype}:${t.dims.join("x")};`);
    const d = t.data as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest("hex");
}
