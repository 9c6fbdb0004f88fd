/**
 * Learned weight rounding (AdaRound, GPTQ) over a whole model, sequentially:
 * each layer's inputs X̃ come from the model with every earlier layer already
 * rounded (the "sequential" setting of both papers), quantized activations
 * included, exactly as ONNX Runtime computes the QDQ model the writer would
 * emit with the codes chosen so far.
 *
 * Layers are taken in waves: wave w holds the layers with w learned layers
 * upstream, so one run over the calibration data captures the inputs of a
 * whole wave (inputs are fetched batch by batch and folded into each layer's
 * Gram matrices at once, layer-gram.ts); a chain of d layers takes d runs,
 * each of only the nodes upstream of its wave (capture-slice.ts).
 * Per layer and group the method chooses codes on the spec's fixed grid
 * (weight-grid.ts); the reconstruction loss tr(ΔW·H·ΔWᵀ)/N of the learned
 * codes is compared with nearest rounding's on the same H, and a layer whose
 * loss would grow keeps nearest (reported). Kept per layer while it is
 * processed: G·K² doubles for H (plus GPTQ's K² work matrices), and for
 * minibatch AdaRound (--adaround-batch N, --adaround-loss post, and wide
 * fully connected layers with adaroundWideRank 0 and adaroundWideBatch N,
 * wide-layers.ts, and token MatMuls with adaroundTokenBatch B, B·tokens
 * columns, token-layers.ts) a pool of 16·N sampled input columns per group
 * (G·16·N·K float32, at most 64 MiB, column-pool.ts), for wide layers' low-rank
 * steps (the default there) q·K doubles of H's top eigenvectors
 * (low-rank-gram.ts), and for stochastic-Gram AdaRound (--adaround-chunks M)
 * M + 1 more K×K float32 Gram matrices per group (chunk-grams.ts).
 * With the post loss, lossBefore/lossAfter are the post-activation losses
 * over that pool, and layers without a ReLU/Clip after them take the pre loss
 * (noted in the report).
 */
import { FixqError } from "../../ir/errors.js";
import type { Graph, Model } from "../../ir/graph.js";
import { inferTypes } from "../../ir/infer-types.js";
import { tensorToFloat64 } from "../../ir/tensor.js";
import { constantTensors } from "../../ir/infer-types.js";
import { GraphEdit } from "../../passes/graph-edit.js";
import { readLayer } from "../../passes/layers.js";
import { OrtSession } from "../../runtime/ort-session.js";
import { type Progress, silentProgress } from "../../util/progress.js";
import type { DataSource } from "../feeds.js";
import type { WeightRounding } from "../layer-rules.js";
import { layerWaves } from "../layer-waves.js";
import { type AdaroundOptions, adaround, adaroundInOrt } from "./adaround.js";
import { adaroundBatch, adaroundBatchInOrt, type PoolColumns, poolLoss, type RowActivation } from "./adaround-batch.js";
import { AdaroundLoop } from "./adaround-loop.js";
import { ChunkGrams } from "./chunk-grams.js";
import { ColumnPool } from "./column-pool.js";
import { tokenLayerOptions } from "./token-layers.js";
import { wideLayerOptions } from "./wide-layers.js";
import { EXHAUSTIVE_MAX_COLS, exactWhereFarBetter } from "./exhaustive.js";
import { type LayerActivation, layerActivation } from "./layer-activation.js";
import { gptq } from "./gptq.js";
import { ROUNDING_DEFAULTS, type RoundingOptions } from "./options.js";
import { GramKernel } from "./gram-kernel.js";
import { LayerGram } from "./layer-gram.js";
import { layerMatrix } from "./layer-matrix.js";
import { LossKernel } from "./loss-pair.js";
import { lowRankGram } from "./low-rank-gram.js";
import { type GroupProblem, reconstructionLoss } from "./problem.js";
import { type WeightGrid, weightGrid } from "./weight-grid.js";
import { adaroundStacked } from "./stacked-layers.js";
import { upstreamSlice } from "./capture-slice.js";

export type LearnedRounding = Exclude<WeightRounding, "nearest">;

export interface RoundedLayer {
  readonly node: string;
  readonly method: LearnedRounding;
  /** Reconstruction loss of nearest rounding and of the codes written (mean squared output error per input column, summed over output channels). */
  readonly lossBefore: number;
  readonly lossAfter: number;
  /** Share of the weights whose code differs from nearest rounding's. */
  readonly changedFraction: number;
  readonly ms: number;
  /** Set when the learned codes were not used: why. */
  readonly keptNearest?: string;
  /** Set when GPTQ had to damp more than asked (H singular). */
  readonly note?: string;
}

export interface WeightRoundingReport {
  readonly pass: "weight-rounding";
  /** The global method; layers rules may choose others per layer. */
  readonly method: WeightRounding;
  readonly layers: readonly RoundedLayer[];
  readonly skipped: readonly { layer: string; reason: string }[];
  /** Passes over the calibration data. */
  readonly runs: number;
}

export interface LearnedRoundingContext {
  /** The method of node i (its plan choice). */
  readonly methodOf: (node: number) => WeightRounding;
  readonly method: WeightRounding;
  /** The QDQ graph the writer would emit with these weight codes. */
  readonly quantized: (codes: Map<string, Int32Array>) => Graph;
  readonly source: DataSource;
  readonly batchSize: number;
  readonly threads?: number;
  readonly progress?: Progress;
  readonly log?: (line: string) => void;
  readonly options?: RoundingOptions;
}

interface Target {
  readonly gram: LayerGram;
  readonly method: LearnedRounding;
  /** The post-activation loss's activation, or why this layer takes the pre-activation loss instead. */
  readonly act?: LayerActivation | { reason: string };
  /** A wide or token layer's own AdaRound options (wide-layers.ts, token-layers.ts). */
  readonly adaround?: AdaroundOptions;
  /** A wide layer's rank of H's approximation for its steps (wide-layers.ts, low-rank-gram.ts). */
  readonly lowRank?: number;
}

/** Input columns per minibatch step with the post-activation loss when --adaround-batch is not given. */
export const POST_LOSS_BATCH = 256;
/** The column pool of minibatch AdaRound holds this many batches (column-pool.ts). */
export const POOL_BATCHES = 16;

/** Floats a column pool may hold per group (64 MiB), as long as it holds one batch. */
export const POOL_MAX_FLOATS = 1 << 24;

/** Columns of a pool for steps of `batch` columns of K inputs: POOL_BATCHES batches, capped at POOL_MAX_FLOATS (a large transformer's 32 samples × 197 tokens × 768 inputs would take 16 × 19 MiB). */
export function poolCapacity(batch: number, k: number): number {
  return Math.max(batch, Math.min(POOL_BATCHES * batch, Math.floor(POOL_MAX_FLOATS / k)));
}

/** Columns per AdaRound step: 0 for the Gram form. */
function stepBatch(o: RoundingOptions): number {
  return o.adaround.batch > 0 ? o.adaround.batch : o.adaround.loss === "post" ? POST_LOSS_BATCH : 0;
}

/** The layers of `g` to round by a learned method, and why the others that asked for one cannot be. */
function targets(g: Graph, ctx: LearnedRoundingContext, kernel: GramKernel): { targets: Target[]; skipped: { layer: string; reason: string }[] } {
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  const consts = constantTensors(g);
  const out: Target[] = [];
  const skipped: { layer: string; reason: string }[] = [];
  g.nodes.forEach((n, i) => {
    const method = ctx.methodOf(i);
    if (method === "nearest") return;
    const spec = g.quant?.get(n.inputs[1] ?? "");
    const l = readLayer(ed, types, i);
    const label = ed.label(i);
    if (!spec || spec.kind === "dynamic-block") {
      // Products of two activations (attention's Q·Kᵀ) have no weight to round; a constant weight left float is reported.
      if (["Conv", "Gemm", "MatMul", "ConvTranspose"].includes(n.opType) && consts.has(n.inputs[1] ?? "")) skipped.push({ layer: label, reason: "its weight is not quantized" });
      return;
    }
    const m = "reason" in l ? l : layerMatrix(l, n);
    if ("reason" in m || "reason" in l) skipped.push({ layer: label, reason: "reason" in l ? l.reason : (m as { reason: string }).reason });
    else {
      const gram = new LayerGram(l, n, m, kernel);
      const opts = ctx.options ?? ROUNDING_DEFAULTS;
      const wideFc = method === "adaround" ? wideLayerOptions(opts.adaround, l, m) : undefined;
      const wide = method === "adaround" ? (wideFc ?? tokenLayerOptions(opts.adaround, l, m, types.get(l.input)?.shape, ctx.source.count)) : undefined;
      const lowRank = wideFc && wideFc.batch === 0 ? wideFc.wideRank : 0;
      const batch = lowRank ? 0 : method === "adaround" ? (wide?.batch ?? stepBatch(opts)) : 0;
      if (batch > 0) gram.pool = new ColumnPool(m.groups, m.cols, poolCapacity(batch, m.cols), 0x5eed + i);
      else if (method === "adaround" && opts.adaround.chunks > 1) gram.chunks = new ChunkGrams(opts.adaround.chunks, ctx.source.count, m.groups, m.cols);
      const act = batch > 0 && opts.adaround.loss === "post" ? layerActivation(ed, i, l.outChannels) : undefined;
      out.push({ gram, method, ...(act ? { act } : {}), ...(wide ? { adaround: wide } : {}), ...(lowRank ? { lowRank } : {}) });
    }
  });
  return { targets: out, skipped };
}

/** Multiply-adds of a step's product (E·H, or E·X_bᵀ for minibatches) from which AdaRound runs as an ONNX Runtime Loop (adaround-loop.ts) rather than in JS. */
const ORT_STEP_MIN = 16384;

/**
 * The learned codes of a group when they reconstruct at least as well as
 * nearest rounding's, else nearest's (`learned` undefined: the method gave
 * none), with both losses.
 */
export function betterOf(p: GroupProblem, near: Int32Array, learned: Int32Array | undefined, loss: (codes: Int32Array) => number = (c) => reconstructionLoss(p, c)): { codes: Int32Array; lossBefore: number; lossAfter: number } {
  return lowerOf(near, learned, { near: loss(near), learned: learned ? loss(learned) : Number.POSITIVE_INFINITY });
}

/** The learned codes when their loss is at most nearest's, else nearest's, with both losses. */
function lowerOf(near: Int32Array, learned: Int32Array | undefined, loss: { near: number; learned: number }): { codes: Int32Array; lossBefore: number; lossAfter: number } {
  const lossBefore = loss.near;
  return learned && loss.learned <= lossBefore ? { codes: learned, lossBefore, lossAfter: loss.learned } : { codes: near, lossBefore, lossAfter: lossBefore };
}

/** Group gi of target t as a reconstruction problem (w: the layer's float weight, flat). */
function groupProblem(t: Target, gi: number, w: Float64Array, grid: WeightGrid): GroupProblem {
  const m = t.gram.m;
  const size = m.rows * m.cols;
  const index = m.index.subarray(gi * size, (gi + 1) * size);
  const chunked = t.gram.chunks?.normalized(gi, t.gram.h[gi]!, t.gram.columns);
  const chunks = chunked && chunked.count > 1 ? { ...chunked, seed: 0x5eed * (gi + 1) + t.gram.columns } : undefined;
  return { rows: m.rows, cols: m.cols, w: Float64Array.from(index, (k) => w[k]!), h: t.gram.h[gi]!, columns: t.gram.columns, grid, index, ...(chunks ? { chunks } : {}) };
}

/**
 * The Gram-form AdaRound codes of the wave's one-group layers that read the
 * same input as another such layer (stacked-layers.ts: one Loop run for all
 * their rows), and each one's share of that run's time.
 */
async function stackedWave(wave: readonly Target[], weights: (t: Target) => { w: Float64Array; grid: WeightGrid }, loop: AdaroundLoop, opts: RoundingOptions): Promise<{ codes: Map<Target, Int32Array>; ms: Map<Target, number> }> {
  const out = { codes: new Map<Target, Int32Array>(), ms: new Map<Target, number>() };
  const eligible = wave.filter((t) => {
    const m = t.gram.m;
    return t.method === "adaround" && !t.gram.pool && !t.gram.chunks && !t.lowRank && m.groups === 1 && m.cols > EXHAUSTIVE_MAX_COLS && m.rows * m.cols * m.cols >= ORT_STEP_MIN;
  });
  for (const input of new Set(eligible.map((t) => t.gram.layer.input))) {
    const members = eligible.filter((t) => t.gram.layer.input === input);
    if (members.length < 2) continue;
    const t0 = performance.now();
    const parts: GroupProblem[] = [];
    for (const t of members) {
      await t.gram.finish();
      const { w, grid } = weights(t);
      parts.push(groupProblem(t, 0, w, grid));
    }
    const codes = await adaroundStacked(parts, loop, opts.adaround);
    const share = (performance.now() - t0) / members.length;
    members.forEach((t, k) => {
      out.codes.set(t, codes[k]!);
      out.ms.set(t, share);
    });
  }
  return out;
}

/** Chooses the codes of every layer asking for learned rounding; `codes` holds nearest codes for every quantized constant and is not changed. */
export async function learnRounding(model: Model, codes: ReadonlyMap<string, Int32Array>, ctx: LearnedRoundingContext): Promise<{ codes: Map<string, Int32Array>; report: WeightRoundingReport }> {
  const kernel = await GramKernel.create(ctx.threads);
  const loop = await AdaroundLoop.create(ctx.threads);
  const losses = LossKernel.create(ctx.threads);
  try {
    return await learnWith(model, codes, ctx, kernel, loop, losses);
  } finally {
    await kernel.release();
    await loop.release();
    await losses.release();
  }
}

async function learnWith(model: Model, codes: ReadonlyMap<string, Int32Array>, ctx: LearnedRoundingContext, kernel: GramKernel, loop: AdaroundLoop, losses: LossKernel): Promise<{ codes: Map<string, Int32Array>; report: WeightRoundingReport }> {
  const g = model.graph!;
  const opts = ctx.options ?? ROUNDING_DEFAULTS;
  const found = targets(g, ctx, kernel);
  const current = new Map(codes);
  const layers: RoundedLayer[] = [];
  const consts = constantTensors(g);
  let runs = 0;
  const progress = ctx.progress ?? silentProgress;
  for (const wave of layerWaves(g, new Map(found.targets.map((t) => [t.gram.layer.node, t])))) {
    const fetch = [...new Set(wave.map((t) => t.gram.layer.input))];
    const qdq = upstreamSlice(ctx.quantized(current), fetch);
    const session = await OrtSession.create({ ...model, graph: qdq }, { optimization: "disabled", threads: ctx.threads, extraOutputs: fetch });
    try {
      await session.runSource(
        ctx.source,
        ctx.batchSize,
        async (out, _feeds, start, count) => {
          for (const t of wave) {
            const x = out[t.gram.layer.input];
            if (!x) throw new FixqError("runtime", `learned rounding: no value '${t.gram.layer.input}' from ONNX Runtime`);
            await t.gram.add(x, start, count);
          }
        },
        silentProgress,
        fetch,
      );
    } finally {
      await session.release();
    }
    runs++;
    const weights = (t: Target) => ({ w: tensorToFloat64(consts.get(t.gram.layer.weight)!), grid: weightGrid(t.gram.layer.weightDims, g.quant!.get(t.gram.layer.weight)!) });
    const stacked = await stackedWave(wave, weights, loop, opts);
    progress.start(wave.length, `rounding wave ${runs}`);
    for (const t of wave) {
      const l = t.gram.layer;
      const t0 = performance.now();
      await t.gram.finish();
      const nearest = codes.get(l.weight);
      if (!nearest) throw new FixqError("runtime", `internal error: no nearest codes for weight '${l.weight}'`);
      const { w, grid } = weights(t);
      const m = t.gram.m;
      const chosen = Int32Array.from(nearest);
      let before = 0;
      let after = 0;
      let note: string | undefined;
      let kept = 0;
      const pool = t.gram.pool;
      const act = t.act && "bias" in t.act ? t.act : undefined;
      if (t.act && "reason" in t.act) note = `pre-activation loss (${t.act.reason})`;
      for (let gi = 0; gi < m.groups; gi++) {
        const size = m.rows * m.cols;
        const index = m.index.subarray(gi * size, (gi + 1) * size);
        const p = groupProblem(t, gi, w, grid);
        const near = Int32Array.from(index, (k) => nearest[k]!);
        let learned: Int32Array | undefined;
        let rowAct: RowActivation | undefined;
        let loss: ((c: Int32Array) => number) | undefined;
        if (t.method === "gptq") {
          const r = gptq(p, opts.gptq);
          if (!r) note = "H stays singular after damping ×10⁴: nearest kept for the group";
          else if (r.damp !== opts.gptq.damp) note = `H singular after damping ${opts.gptq.damp} (K = ${m.cols}, ${t.gram.columns} input columns): damped with ${r.damp}`;
          learned = r?.codes;
        } else if (t.lowRank) {
          const lr = await lowRankGram(p.h, p.cols, t.lowRank, (x, rows) => losses.times(x, rows, p.h, p.cols), 0x5eed * (gi + 1));
          learned = await adaroundInOrt(p, loop, t.adaround ?? opts.adaround, undefined, lr);
        } else if (pool) {
          const cols: PoolColumns = { x: pool.x[gi]!, n: pool.size };
          rowAct = act ? { lo: act.lo, hi: act.hi, bias: act.bias.subarray(gi * m.rows, (gi + 1) * m.rows) } : undefined;
          const ada = t.adaround ?? opts.adaround;
          const batch = t.adaround?.batch ?? stepBatch(opts);
          const seed = 0x5eed * (gi + 1) + pool.seen;
          learned = p.rows * p.cols * Math.min(batch, cols.n) >= ORT_STEP_MIN ? await adaroundBatchInOrt(p, cols, batch, ada, seed, loop, rowAct) : adaroundBatch(p, cols, batch, ada, seed, rowAct);
          if (rowAct) {
            const a = rowAct;
            loss = (c) => poolLoss(p, cols, c, a);
          }
        } else {
          // Small groups step faster in JS than through ORT's Loop.
          learned = stacked.codes.get(t) ?? (p.rows * p.cols * p.cols >= ORT_STEP_MIN ? await adaroundInOrt(p, loop, opts.adaround) : adaround(p, opts.adaround));
          // A 3×3 kernel on one channel, depthwise 3×3: the exact minimum where the relaxation stopped far from it.
          if (opts.adaround.exhaustive && p.cols <= EXHAUSTIVE_MAX_COLS) learned = exactWhereFarBetter(p, learned, opts.adaround.clipCompensation);
        }
        const pick = loss ? betterOf(p, near, learned, loss) : lowerOf(near, learned, await losses.pair(p, near, learned));
        before += pick.lossBefore;
        after += pick.lossAfter;
        if (pick.codes === near) kept++;
        index.forEach((k, j) => {
          chosen[k] = pick.codes[j]!;
        });
      }
      if (kept > 0 && kept < m.groups) note = `${note ? `${note}; ` : ""}${kept} of ${m.groups} groups kept nearest (their learned codes reconstruct worse)`;
      if (note) ctx.log?.(`warning: ${l.name}: ${note}`);
      let changed = 0;
      // By value: FP4's −0 and +0 are two codes of one value.
      for (let k = 0; k < chosen.length; k++) if (grid.value(k, chosen[k]!) !== grid.value(k, nearest[k]!)) changed++;
      const worse = kept === m.groups;
      current.set(l.weight, worse ? nearest : chosen);
      layers.push({
        node: l.name,
        method: t.method,
        lossBefore: before,
        lossAfter: worse ? before : after,
        changedFraction: worse ? 0 : changed / chosen.length,
        ms: performance.now() - t0 + (stacked.ms.get(t) ?? 0),
        ...(worse ? { keptNearest: "the learned codes reconstruct worse than nearest" } : {}),
        ...(note ? { note } : {}),
      });
      // The Gram matrices are no longer needed.
      t.gram.h.length = 0;
      t.gram.pool = undefined;
      t.gram.chunks = undefined;
      progress.tick(1);
    }
    progress.stop();
  }
  const order = new Map(found.targets.map((t, k) => [t.gram.layer.name, k]));
  layers.sort((a, b) => order.get(a.node)! - order.get(b.node)!);
  return { codes: current, report: { pass: "weight-rounding", method: ctx.method, layers, skipped: found.skipped, runs } };
}
