/**
 * `--smooth [α]`: SmoothQuant before quantizing. The per-channel max |X| of
 * every smoothable LayerNormalization or RMSNormalization output (passes/smooth.ts) is measured
 * on the calibration data in ONNX Runtime (channel-means.ts), then folded into
 * the norms and the linear layers that read them (directly or through layout
 * ops). Norms whose scale cannot reach their linear layers are returned with
 * the reason; when no norm can be smoothed at all, the first reason is the error. α is fixed by the user, or
 * searched per norm on the layer's output error (smooth-search.ts).
 * Decomposed LayerNorm and RMSNorm chains are fused first
 * (passes/fuse-layernorm.ts, which the quantizer runs anyway), so that a
 * Llama-style export's RMSNorm can be smoothed too. A norm output whose rank
 * static inference cannot tell takes it from one ONNX Runtime run
 * (runtime/probe-types.ts) on the first calibration sample.
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { probeTypes } from "../runtime/probe-types.js";
import { fuseLayerNormModel } from "../passes/fuse-layernorm.js";
import { type SmoothReport, smoothLayerNorms, smoothTargetsWithReasons } from "../passes/smooth.js";
import { channelAbsMax } from "./channel-means.js";
import { searchAlphas } from "./smooth-search.js";
import type { DataSource } from "./feeds.js";

/** Smooths with a fixed α, or with α searched per norm (smooth-search.ts) when `alpha` is "search". */
export async function smoothModel(
  model: Model,
  source: DataSource,
  alpha: number | "search",
  opts: { batchSize: number; threads?: number },
): Promise<{ model: Model; report: SmoothReport; refused: readonly { norm: string; reason: string }[] }> {
  if (alpha !== "search" && !(alpha > 0 && alpha < 1)) throw new FixqError("usage", `--smooth expects α in (0, 1), got ${alpha}`);
  // decomposed LayerNorm/RMSNorm chains (older and Llama-style exports) become one norm op first, as quantizing would make them
  const fused = fuseLayerNormModel(model);
  if (fused.report.fused.length > 0) model = fused.model;
  const g = model.graph!;
  const { targets, refused } = smoothTargetsWithReasons(g);
  if (targets.length === 0 && refused.length > 0) throw new FixqError("unsupported", `--smooth: cannot carry ${refused[0]!.norm}'s channel scale to its linear layers: ${refused[0]!.reason}`);
  if (targets.length === 0) throw new FixqError("unsupported", "--smooth: no LayerNormalization feeds only MatMul/Gemm layers with constant weights; there is nothing to smooth");
  let types = inferTypes(g);
  if (targets.some((t) => !types.get(t.value)?.shape?.length)) {
    // static inference loses the rank behind computed shapes (a torch ViT's cls_token.expand(B, -1, -1)
    // concatenated with the patches): ONNX Runtime tells it, run on the first calibration sample
    const probed = await probeTypes(model, source.batch(0, source.fixedBatch ?? 1));
    types = new Map([...types, ...[...probed].filter(([v, t]) => t.shape && !types.get(v)?.shape)]);
  }
  const probes = targets.map((t) => {
    const rank = types.get(t.value)?.shape?.length;
    if (!rank) throw new FixqError("unsupported", `--smooth: the rank of '${t.value}' is not known`, `${t.norm.opType} '${t.norm.name ?? t.value}'`);
    return { value: t.value, rank, axis: rank - 1 };
  });
  const absMax = await channelAbsMax(model, source, probes, opts);
  const alphas = alpha === "search" ? await searchAlphas(model, source, targets, absMax, opts.threads) : alpha;
  const { graph, report } = smoothLayerNorms(g, targets, absMax, alphas);
  return { model: { ...model, graph }, report, refused };
}
