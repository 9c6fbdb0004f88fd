/**
 * `--measure-latency FILE`: the latency table of a `--budget latency=…`
 * (latency-table.ts), timed in ONNX Runtime on this machine.
 *
 * For each candidate c the whole model is quantized with c on every mixed
 * layer (the ordinary machinery, `layers` rules), run `warmup + runs` times
 * on `samples` calibration samples with ORT's profiler on (graph
 * optimizations "all", so ORT fuses as it will in deployment), and
 *
 *   latency(layer, c) = median over the timed runs r of Σ dur(k)
 *                       over the kernels k of run r attributed to the layer,
 *
 * in milliseconds. A kernel (the profile's `<node>_kernel_time` events) is
 * attributed to a layer when its node is, in the quantized graph, the layer
 * itself, a DequantizeLinear feeding it (weights, bias, activation), or an
 * activation (Relu, Clip, …) and QuantizeLinear following it on a
 * single-consumer chain; or when ORT named the node it made by fusing after
 * the layer (`<layer>_token_N`, QLinearConv, QGemm, …). Kernels attributed
 * to no layer (the input's QuantizeLinear, pooling, layout Transposes) are
 * summed into `unattributed`. The CPU features of cpu-features.ts are
 * written into the table: kernels, hence times, depend on them.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixqError } from "../../ir/errors.js";
import { type Graph, readersOf } from "../../ir/graph.js";
import { prepareFloatModel } from "../../passes/pipeline.js";
import type { Model } from "../../ir/graph.js";
import { detectCpu } from "../../runtime/cpu-features.js";
import { OrtSession } from "../../runtime/ort-session.js";
import type { DataSource } from "../feeds.js";
import { quantizeModel } from "../quantize.js";
import { buildRecipe, type RecipeInput } from "../recipe.js";
import { ruleFor } from "./allocate.js";
import { parseCandidates } from "./candidates.js";
import { mixedSites } from "./layers.js";

export const DEFAULT_LATENCY_SAMPLES = 8;
export const DEFAULT_LATENCY_RUNS = 5;
export const LATENCY_WARMUP_RUNS = 2;

export interface LatencyOptions {
  readonly candidates: string;
  /** Samples fed per run (one batch; default 8, at most the data's). */
  readonly samples?: number;
  /** Timed runs after the warm-up ones (default 5); the median is kept. */
  readonly runs?: number;
  /** ORT intra-op threads (default 1: steadier times). */
  readonly threads?: number;
  readonly progress?: (text: string) => void;
}

/** The JSON written: what latency-table.ts reads, plus how it was measured. */
export interface MeasuredLatencyTable {
  readonly unit: "ms";
  readonly layers: Record<string, Record<string, number>>;
  readonly unattributed: Record<string, number>;
  readonly cpu: { readonly summary: string; readonly arch: string; readonly features: readonly string[] };
  readonly method: string;
  readonly samples: number;
  readonly runs: number;
  readonly warmup: number;
  readonly threads: number;
}

const FOLLOWERS = new Set(["Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "QuantizeLinear"]);

/** Node name → layer, from the quantized graph (see the module comment). */
export function attributeNodes(g: Graph, layers: readonly string[]): Map<string, string> {
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const consumers = readersOf(g);
  const owner = new Map<string, string>();
  for (const layer of layers) {
    const node = g.nodes.find((n) => n.name === layer);
    if (!node) continue;
    owner.set(layer, layer);
    for (const i of node.inputs) {
      const p = i ? producer.get(i) : undefined;
      if (p?.name && p.opType === "DequantizeLinear" && !owner.has(p.name)) owner.set(p.name, layer);
    }
    let out = node.outputs[0];
    for (;;) {
      const next = out === undefined ? [] : (consumers.get(out) ?? []);
      const n = next[0];
      if (next.length !== 1 || !n?.name || !FOLLOWERS.has(n.opType) || owner.has(n.name)) break;
      owner.set(n.name, layer);
      if (n.opType === "QuantizeLinear") break;
      out = n.outputs[0];
    }
  }
  return owner;
}

/** The layer a profiled node belongs to: by the graph, else by ORT's `<layer>_…` naming of fused nodes (longest match). */
function layerOfNode(node: string, owner: ReadonlyMap<string, string>, layers: readonly string[]): string | undefined {
  const direct = owner.get(node);
  if (direct) return direct;
  let best: string | undefined;
  for (const l of layers) if (node.startsWith(`${l}_`) && (!best || l.length > best.length)) best = l;
  return best;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Per-layer medians (ms) of an ORT profile trace, skipping the first `warmup` runs. */
export function latenciesFromProfile(events: readonly ProfileEvent[], owner: ReadonlyMap<string, string>, layers: readonly string[], warmup: number): { layers: Map<string, number>; unattributed: number } {
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts! - b.ts!).slice(warmup);
  if (runs.length === 0) throw new FixqError("runtime", "ONNX Runtime's profile holds no timed run");
  const kernels = events.filter((e) => e.cat === "Node" && e.name?.endsWith("_kernel_time"));
  const perRun = runs.map((r) => {
    const sums = new Map<string, number>();
    for (const k of kernels) {
      if (k.ts! < r.ts! || k.ts! > r.ts! + r.dur!) continue;
      const layer = layerOfNode(k.name!.slice(0, -"_kernel_time".length), owner, layers) ?? "";
      sums.set(layer, (sums.get(layer) ?? 0) + k.dur!);
    }
    return sums;
  });
  const ms = (key: string) => median(perRun.map((s) => s.get(key) ?? 0)) / 1000;
  return { layers: new Map(layers.map((l) => [l, ms(l)])), unattributed: ms("") };
}

/** Profiles `model` for `warmup + runs` runs of `feeds` and returns the trace's events. */
async function profileRuns(model: Model, feeds: ReturnType<DataSource["batch"]>, runs: number, threads: number): Promise<ProfileEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), "fixq-latency-"));
  try {
    const session = await OrtSession.create(model, { threads, profileFilePrefix: join(dir, "profile") });
    for (let r = 0; r < runs; r++) await session.run(feeds);
    session.endProfiling();
    const file = readdirSync(dir).find((f) => f.endsWith(".json"));
    if (!file) throw new FixqError("runtime", "ONNX Runtime wrote no profile");
    return JSON.parse(readFileSync(join(dir, file), "utf8")) as ProfileEvent[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Times every mixed layer under every candidate (see the module comment).
 * `parts` are the recipe's parts as buildRecipe takes them; `layers` the
 * recipe file's own rules, kept after the per-candidate ones.
 */
export async function measureLatencyTable(model: Model, source: DataSource, parts: readonly RecipeInput[], fileLayers: readonly unknown[], o: LatencyOptions): Promise<MeasuredLatencyTable> {
  const recipe = buildRecipe(...parts);
  const candidates = parseCandidates(o.candidates, recipe);
  const sites = mixedSites(prepareFloatModel(model, recipe).model.graph!, recipe);
  if (sites.length === 0) throw new FixqError("unsupported", "--measure-latency: the model has no named Conv, Gemm or MatMul layer with a constant weight to time");
  const names = sites.map((s) => s.name);
  const samples = source.fixedBatch ?? Math.min(o.samples ?? DEFAULT_LATENCY_SAMPLES, source.count);
  const runs = o.runs ?? DEFAULT_LATENCY_RUNS;
  const threads = o.threads ?? 1;
  const feeds = source.batch(0, samples);
  const layers: Record<string, Record<string, number>> = Object.fromEntries(names.map((n) => [n, {}]));
  const unattributed: Record<string, number> = {};
  for (const c of candidates) {
    o.progress?.(`timing ${names.length} layers under ${c.text} in ONNX Runtime (${runs} runs of ${samples} samples)`);
    const r = buildRecipe(...parts, { layers: [...names.map((n) => ruleFor(n, c)), ...fileLayers] });
    const q = (await quantizeModel(model, source, r)).model;
    const events = await profileRuns(q, feeds, LATENCY_WARMUP_RUNS + runs, threads);
    const t = latenciesFromProfile(events, attributeNodes(q.graph!, names), names, LATENCY_WARMUP_RUNS);
    for (const [n, ms] of t.layers) {
      if (!(ms > 0)) throw new FixqError("runtime", `--measure-latency: ONNX Runtime's profile shows no kernel for layer '${n}' under ${c.text}`);
      layers[n]![c.text] = ms;
    }
    unattributed[c.text] = t.unattributed;
  }
  const cpu = detectCpu();
  return {
    unit: "ms",
    layers,
    unattributed,
    cpu: { summary: cpu.summary, arch: cpu.arch, features: cpu.features },
    method: `ONNX Runtime CPU profiler, graph optimizations all; per layer the median over ${runs} runs (after ${LATENCY_WARMUP_RUNS} warm-up) of the summed kernel times attributed to it, whole model quantized in the candidate`,
    samples,
    runs,
    warmup: LATENCY_WARMUP_RUNS,
    threads,
  };
}
