/**
 * The integer-kernel side of the per-layer SQNR: for every quantized
 * activation of CAND, its SQNR against REF's float tensor when CAND runs
 * with graph optimizations on (ONNX Runtime's integer kernels, as deployed),
 *     SQNR = 10·log10(Σ ref² / Σ (ref − int)²)  dB,
 * next to the fake-quant SQNR of perLayerErrors (optimizations off).
 *
 * As in divergence.ts, each tensor is read from its own optimized session
 * exposing that tensor alone, so everything upstream still fuses as
 * deployed; that is one session per activation, so it runs on the first
 * `samples` samples only (REF runs once, optimizations off, all exposed).
 */
import type { Model } from "../ir/graph.js";
import { OrtSession } from "../runtime/ort-session.js";
import { type EvalData, evalFeeds, numeric } from "./eval-data.js";
import { ErrorStats } from "./metrics.js";
import { type PerLayerResult, referenceAfterFloatPasses } from "./per-layer.js";

/** Samples the integer-kernel per-layer pass runs on (one batch). */
export const INTEGER_KERNEL_SAMPLES = 64;

/** `perLayer` with `integerKernelSqnrDb` on every activation it could measure, and the samples used. */
export async function withIntegerKernelSqnr(original: Model, cand: Model, data: EvalData, perLayer: PerLayerResult, opts: { threads?: number; samples?: number } = {}): Promise<PerLayerResult> {
  if (perLayer.activations.length === 0) return perLayer;
  const ref = referenceAfterFloatPasses(original, cand).model;
  const bound = evalFeeds(ref, data);
  const count = bound.fixedBatch ?? Math.min(opts.samples ?? INTEGER_KERNEL_SAMPLES, data.samples);
  const feeds = bound.batch(0, count);
  const names = [...new Set(perLayer.activations.map((a) => a.tensor))];
  const refSession = await OrtSession.create(ref, { optimization: "disabled", threads: opts.threads, extraOutputs: names });
  let refOut: Awaited<ReturnType<OrtSession["run"]>>;
  try {
    refOut = await refSession.run(feeds, names);
  } finally {
    await refSession.release();
  }
  const activations = [];
  for (const a of perLayer.activations) {
    const s = await OrtSession.create(cand, { optimization: "all", threads: opts.threads, extraOutputs: [a.candidateTensor] });
    try {
      const got = numeric((await s.run(feeds, [a.candidateTensor]))[a.candidateTensor]!, `CAND tensor '${a.candidateTensor}'`);
      const want = numeric(refOut[a.tensor]!, `REF tensor '${a.tensor}'`);
      const stats = new ErrorStats();
      if (got.length === want.length) stats.update(want, got);
      activations.push(got.length === want.length ? { ...a, integerKernelSqnrDb: stats.sqnrDb() } : a);
    } finally {
      await s.release();
    }
  }
  return { ...perLayer, activations, integerKernelSamples: count };
}
