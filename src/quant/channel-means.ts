/**
 * Per-channel means of values over a data set, computed inside onnxruntime:
 * each probed value gets a ReduceMean over every axis but its channel axis
 * (keepdims 0), and only those [C] vectors leave ORT. Batch means are
 * combined weighted by the batch's sample count, so the result is the mean
 * over all samples and positions whatever the batch size. Graph
 * optimizations are off: a QDQ model runs as float fake-quant.
 * The same probes give the per-channel max |x| (Abs, ReduceMax; combined by max).
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { type Model, type Node, opsetVersion } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { OrtSession } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";
import type { DataSource } from "./feeds.js";
import { graphNames } from "../ir/names.js";

export interface MeanProbe {
  readonly value: string;
  /** Rank of the value and its channel axis. */
  readonly rank: number;
  readonly axis: number;
}

export interface ChannelMeanOptions {
  readonly batchSize: number;
  readonly threads?: number;
  readonly progress?: Progress;
}

/** The mean of each probed value per channel, by value name. */
export function channelMeans(model: Model, source: DataSource, probes: readonly MeanProbe[], opts: ChannelMeanOptions): Promise<Map<string, Float64Array>> {
  return channelStatistic(model, source, probes, opts, "mean");
}

/** The largest |value| of each probed value per channel, by value name (SmoothQuant's max|X_j|). */
export function channelAbsMax(model: Model, source: DataSource, probes: readonly MeanProbe[], opts: ChannelMeanOptions): Promise<Map<string, Float64Array>> {
  return channelStatistic(model, source, probes, opts, "absmax");
}

/** Per-channel mean (ReduceMean, combined weighted by batch size) or max |x| (Abs + ReduceMax, combined by max). */
async function channelStatistic(model: Model, source: DataSource, probes: readonly MeanProbe[], opts: ChannelMeanOptions, stat: "mean" | "absmax"): Promise<Map<string, Float64Array>> {
  const g = model.graph!;
  const names = graphNames(g);
  const newOpset = (opsetVersion(model) ?? 0) >= 18; // ReduceMean/ReduceMax-18 take axes as an input
  const reduce = stat === "mean" ? "ReduceMean" : "ReduceMax";
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const fetch = new Map<string, string>();
  for (const p of probes) {
    if (fetch.has(p.value)) continue;
    const axes = Array.from({ length: p.rank }, (_, k) => k).filter((k) => k !== p.axis);
    const out = names.fresh(`${p.value}/fixq.${stat}`);
    fetch.set(p.value, out);
    let input = p.value;
    if (stat === "absmax") {
      input = names.fresh(`${p.value}/fixq.abs`);
      nodes.push({ opType: "Abs", inputs: [p.value], outputs: [input], attributes: [] });
    }
    const keep0 = { name: "keepdims", type: 2, i: 0 };
    if (newOpset) {
      const a = names.fresh(`${p.value}/fixq.${stat}_axes`);
      inits.push({ name: a, dtype: DataType.INT64, dims: [axes.length], raw: new Uint8Array(BigInt64Array.from(axes.map(BigInt)).buffer) });
      nodes.push({ opType: reduce, inputs: [input, a], outputs: [out], attributes: [keep0] });
    } else {
      nodes.push({ opType: reduce, inputs: [input], outputs: [out], attributes: [keep0, { name: "axes", type: 7, ints: axes }] });
    }
  }
  const probed: Model = { ...model, graph: { ...g, nodes: [...g.nodes, ...nodes], initializers: [...g.initializers, ...inits] } };
  const acc = new Map<string, Float64Array>();
  let samples = 0;
  const session = await OrtSession.create(probed, { optimization: "disabled", threads: opts.threads, extraOutputs: [...fetch.values()] });
  try {
    await session.runSource(
      source,
      opts.batchSize,
      (out, _feeds, _start, count) => {
        samples += count;
        for (const [v, o] of fetch) {
          const m = out[o]?.data as Float32Array | undefined;
          if (!m) throw new FixqError("runtime", `no ${stat} for '${v}'`);
          const s = acc.get(v) ?? new Float64Array(m.length);
          acc.set(v, s);
          for (let c = 0; c < m.length; c++) s[c] = stat === "mean" ? s[c]! + m[c]! * count : Math.max(s[c]!, m[c]!);
        }
      },
      opts.progress ?? silentProgress,
      [...fetch.values()],
    );
  } finally {
    await session.release();
  }
  if (samples === 0) throw new FixqError("data", "no samples to average over");
  if (stat === "mean") for (const s of acc.values()) for (let c = 0; c < s.length; c++) s[c] = s[c]! / samples;
  return acc;
}
