/**
 * Per-layer error of a quantized candidate against its float reference, the
 * library behind `fixq eval --per-layer`: which quantized tensor loses the
 * signal.
 *
 * Which tensors. Every DequantizeLinear output in CAND's main graph is a
 * quantized tensor. When its quantized input is computed at run time it is an
 * activation; when that input is a constant (an initializer, a Constant node,
 * or a node of constants only) it is a weight or bias.
 *
 * Mapping an activation (DequantizeLinear output d) to REF, first rule that applies:
 *  1. d itself, when REF has a run-time tensor (graph input or node output)
 *     named d. fixq's QDQ keeps the name: the producer writes `t__f`, then
 *     QuantizeLinear(t__f) → DequantizeLinear → t, so CAND's t is REF's t.
 *  2. Walk back d ← DequantizeLinear(q), q ← QuantizeLinear(x): x, when REF
 *     has it. When x is itself a DequantizeLinear output (a requantization
 *     chain), the walk repeats from there. This maps ORT quantize_static's
 *     `t_DequantizeLinear_Output` (from `t_QuantizeLinear_Output`) to t, and
 *     fixq's quantized graph input `x__dq` to x.
 *  3. Otherwise d is unmapped, and listed with the reason.
 * Mapping a weight: a node that reads d has a namesake in REF with the same op
 * type, and REF's input in the same slot is a constant there too (an
 * initializer, a Constant node, or computed from constants only). Otherwise
 * the weight is unmapped, with the reason.
 *
 * REF as CAND's float original. fixq quantizes the float model after its
 * float passes (BN folding always; ReLU6 → ReLU, CLE and bias absorption when
 * the recipe asks), so a quantized weight is compared with REF's weight after
 * the same passes (`referenceAfterFloatPasses`): the recipe CAND records in
 * its `fixq.recipe` metadata says which optional passes ran. A CAND without
 * that metadata (another tool's QDQ) is compared with REF after BN folding
 * when CAND itself has no BatchNormalization left (its tool folded them, as
 * ORT's quant_pre_process does), else with REF as given. The result names
 * the passes applied.
 *
 * Both models run in onnxruntime with graph optimizations disabled (fused
 * kernels would hide the tensors), the mapped tensors exposed as extra outputs.
 * Per tensor the sums Σref², Σ(ref−cand)² (and the cosine's) accumulate batch
 * by batch, so only one batch of activations is alive at a time. Weights are
 * compared once, on the first batch.
 *
 * SQNR is cumulative: a tensor's error includes everything upstream, so the
 * layers after a bad one look bad too. `localSqnrDb` estimates the noise a
 * tensor adds itself: with NSR = 10^(−SQNR/10), it is −10·log10(NSR − NSR_in),
 * where NSR_in is the worst NSR among its nearest quantized upstream
 * activations (the tensor's own SQNR when there are none; +Infinity when it
 * adds nothing measurable). The estimate assumes relative noise passes through
 * the float ops in between unchanged, a first-order approximation; it finds
 * the layer that hurts where the cumulative figure only shows where it hurts.
 */
import { FixqError } from "../ir/errors.js";
import { type Graph, type Model, metadataOf, type Node, readersOf } from "../ir/graph.js";
import { type FloatPassOptions, prepareFloatModel } from "../passes/pipeline.js";
import { type HostTensor, OrtSession } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { type EvalData, evalFeeds, numeric } from "./eval-data.js";
import { evalBatchSize } from "./compare.js";
import { ErrorStats } from "./metrics.js";
import { asModel } from "./model-label.js";
import { initializersAsConstants } from "../passes/initializer-inputs.js";

export interface NodeRef {
  readonly opType: string;
  readonly name: string | null;
}

export interface LayerError {
  /** The float tensor in REF. */
  readonly tensor: string;
  /** The DequantizeLinear output in CAND. */
  readonly candidateTensor: string;
  /** Activation: the REF node producing the tensor (null for a graph input). Weight: the REF node reading it. */
  readonly node: NodeRef | null;
  /** Elements compared (all samples, for activations). */
  readonly elements: number;
  /** 10·log10(Σref²/Σ(ref−cand)²); +Infinity when identical. */
  readonly sqnrDb: number;
  readonly cosine: number;
  readonly maxAbsError: number;
  /** The SQNR of the noise this tensor adds beyond what its quantized inputs bring (weights: sqnrDb); see the file comment. */
  readonly localSqnrDb: number;
  /** Activations: position in CAND's graph order (the report draws bars in it). */
  readonly graphIndex?: number;
  /** Activations, when measured (per-layer-fused.ts): the SQNR of CAND's integer-kernel run (optimizations on). */
  readonly integerKernelSqnrDb?: number;
}

export interface UnmappedTensor {
  readonly candidateTensor: string;
  readonly kind: "activation" | "weight";
  readonly reason: string;
}

export interface PerLayerResult {
  readonly samples: number;
  readonly batchSize: number;
  /** Worst SQNR first (NaN first of all); ties in CAND's graph order. */
  readonly activations: readonly LayerError[];
  readonly weights: readonly LayerError[];
  readonly unmapped: readonly UnmappedTensor[];
  /** The float passes REF went through before the comparison (e.g. ["fold-batchnorm"]); empty when none changed it. */
  readonly referencePasses: readonly string[];
  /** Samples the integer-kernel SQNR was measured on, when it was (per-layer-fused.ts). */
  readonly integerKernelSamples?: number;
}

/** REF after the float passes CAND was quantized with; see the file comment. */
export function referenceAfterFloatPasses(ref: Model, cand: Model): { model: Model; passes: string[] } {
  const recorded = metadataOf(cand).find(([k]) => k === "fixq.recipe")?.[1];
  let opts: FloatPassOptions;
  if (recorded !== undefined) {
    let r: Record<string, unknown> = {};
    try {
      r = JSON.parse(recorded) as Record<string, unknown>;
    } catch {
      // Unreadable metadata: BN folding only, which every fixq recipe runs.
    }
    opts = { cle: r["cle"] === true, absorbBias: r["absorbBias"] === true, relu6ToRelu: r["relu6ToRelu"] === true };
  } else if (cand.graph?.nodes.some((n) => n.opType === "BatchNormalization")) {
    return { model: ref, passes: [] };
  } else {
    opts = { cle: false, absorbBias: false, relu6ToRelu: false };
  }
  // an IR < 4 REF (initializers also graph inputs) is prepared as quantize prepares it: those are constants
  const prepared = prepareFloatModel(ref.graph ? { ...ref, graph: initializersAsConstants(ref.graph).graph } : ref, opts);
  return { model: prepared.model, passes: prepared.passes.filter((p) => p.changed).map((p) => p.name) };
}

export interface PerLayerOptions {
  batchSize?: number;
  threads?: number;
  progress?: Progress;
}

interface ActivationPair {
  readonly cand: string;
  readonly ref: string;
  readonly node: NodeRef | null;
}

interface WeightPair {
  readonly cand: string;
  readonly ref: string;
  readonly node: NodeRef;
}

export interface TensorMapping {
  readonly activations: readonly ActivationPair[];
  readonly weights: readonly WeightPair[];
  readonly unmapped: readonly UnmappedTensor[];
}

const isQ = (n: Node | undefined) => n?.opType === "QuantizeLinear";
const isDQ = (n: Node | undefined) => n?.opType === "DequantizeLinear";
const nodeRef = (n: Node): NodeRef => ({ opType: n.opType, name: n.name ?? null });

function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Values that do not depend on the feeds: initializers, Constant outputs, and outputs of nodes whose inputs are all such. */
function constants(g: Graph): Set<string> {
  const out = new Set<string>(g.initializers.map((t) => t.name ?? ""));
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of g.nodes) {
      if (n.outputs.every((o) => !o || out.has(o))) continue;
      const real = n.inputs.filter((i) => i);
      if ((n.opType === "Constant" && real.length === 0) || (real.length > 0 && real.every((i) => out.has(i)))) {
        for (const o of n.outputs) if (o) out.add(o);
        grew = true;
      }
    }
  }
  return out;
}

/** Maps every DequantizeLinear output of CAND to its float original in REF; see the file comment for the rules. */
export function mapQuantizedTensors(ref: Graph, cand: Graph): TensorMapping {
  const refProducer = producers(ref);
  const refInits = new Set(ref.initializers.map((t) => t.name));
  const refInputs = new Set(ref.inputs.filter((v) => !refInits.has(v.name)).map((v) => v.name));
  const refHas = (name: string) => refProducer.has(name) || refInputs.has(name);
  const refNodes = new Map<string, Node>();
  for (const n of ref.nodes) if (n.name) refNodes.set(n.name, n);
  const refConst = constants(ref);
  const candProducer = producers(cand);
  const candConst = constants(cand);
  const readers = readersOf(cand);

  const activations: ActivationPair[] = [];
  const weights: WeightPair[] = [];
  const unmapped: UnmappedTensor[] = [];
  const seen = new Set<string>();
  for (const dq of cand.nodes) {
    const d = dq.outputs[0];
    if (!isDQ(dq) || !d || seen.has(d)) continue;
    seen.add(d);
    if (candConst.has(dq.inputs[0] ?? "")) {
      const w = mapWeight(d);
      if ("reason" in w) unmapped.push({ candidateTensor: d, kind: "weight", reason: w.reason });
      else weights.push(w);
      continue;
    }
    const target = traceActivation(dq);
    if (typeof target !== "string") {
      unmapped.push({ candidateTensor: d, kind: "activation", reason: target.reason });
      continue;
    }
    const p = refProducer.get(target);
    activations.push({ cand: d, ref: target, node: p ? nodeRef(p) : null });
  }
  return { activations, weights, unmapped };

  function traceActivation(dq: Node): string | { reason: string } {
    const tried: string[] = [];
    let cur = dq;
    for (;;) {
      const d = cur.outputs[0]!;
      if (refHas(d)) return d;
      tried.push(d);
      const q = candProducer.get(cur.inputs[0] ?? "");
      if (!isQ(q)) {
        const what = q ? `a ${q.opType} node` : "a graph input";
        return { reason: `REF has no tensor '${tried.join("' or '")}', and the quantized input '${cur.inputs[0]}' comes from ${what}, not a QuantizeLinear` };
      }
      const x = q!.inputs[0] ?? "";
      if (refHas(x)) return x;
      tried.push(x);
      const next = candProducer.get(x);
      if (!isDQ(next) || tried.includes(next!.outputs[0]!)) return { reason: `REF has no tensor '${tried.join("' or '")}'` };
      cur = next!;
    }
  }

  function mapWeight(d: string): WeightPair | { reason: string } {
    const users = readers.get(d) ?? [];
    if (users.length === 0) return { reason: "no node reads it" };
    for (const u of users) {
      const r = u.name ? refNodes.get(u.name) : undefined;
      if (!r || r.opType !== u.opType) continue;
      const slot = u.inputs.indexOf(d);
      const name = r.inputs[slot];
      if (!name) continue;
      if (refConst.has(name)) return { cand: d, ref: name, node: nodeRef(r) };
      return { reason: `REF's input '${name}' of ${r.opType} '${r.name}' is not a constant` };
    }
    const names = users.map((u) => `${u.opType} '${u.name ?? "(unnamed)"}'`).join(", ");
    return { reason: `no node reading it (${names}) has a namesake of the same op in REF` };
  }
}

/** Nearest mapped activations upstream of each mapped activation (through unquantized ops), by CAND name. */
function upstreamActivations(cand: Graph, mapped: ReadonlySet<string>): Map<string, Set<string>> {
  const prod = producers(cand);
  const memo = new Map<string, Set<string>>();
  const empty = new Set<string>();
  const visiting = new Set<string>();
  // Iterative post-order walk, so a long chain of float ops cannot overflow the stack.
  const upstreamOf = (root: string): Set<string> => {
    const stack: [string, boolean][] = [[root, false]];
    while (stack.length > 0) {
      const [name, expanded] = stack.pop()!;
      if (memo.has(name) || (!expanded && visiting.has(name))) continue;
      const p = prod.get(name);
      if (!p) {
        memo.set(name, empty);
        continue;
      }
      const inputs = p.inputs.filter((i) => i);
      if (!expanded) {
        visiting.add(name);
        stack.push([name, true]);
        for (const i of inputs) if (!memo.has(i) && !mapped.has(i) && !visiting.has(i)) stack.push([i, false]);
        continue;
      }
      visiting.delete(name);
      const set = new Set<string>();
      for (const i of inputs) {
        if (mapped.has(i)) set.add(i);
        else for (const u of memo.get(i) ?? empty) set.add(u);
      }
      memo.set(name, set);
    }
    return memo.get(root) ?? empty;
  };
  const out = new Map<string, Set<string>>();
  for (const n of cand.nodes) {
    const d = n.outputs[0];
    if (!isDQ(n) || !d || !mapped.has(d)) continue;
    const set = new Set<string>();
    for (const i of n.inputs) if (i) for (const u of mapped.has(i) ? [i] : upstreamOf(i)) set.add(u);
    out.set(d, set);
  }
  return out;
}

/** Orders dB figures worst first: NaN, then ascending; equal figures compare 0 (a stable sort keeps their order). */
export function worstFirst(x: number, y: number): number {
  const nx = Number.isNaN(x);
  const ny = Number.isNaN(y);
  if (nx || ny) return nx === ny ? 0 : nx ? -1 : 1;
  return x === y ? 0 : x < y ? -1 : 1;
}

const byWorstSqnr = (a: LayerError, b: LayerError) => worstFirst(a.sqnrDb, b.sqnrDb);

interface PairState {
  readonly stats: ErrorStats;
  mismatch?: string;
}

const shapeOf = (dims: readonly number[]) => `[${dims.join(",")}]`;

/** Runs REF and CAND over `data` with every mapped tensor exposed and returns per-tensor SQNR; see the file comment. */
export async function perLayerErrors(original: Model, cand: Model, data: EvalData, opts: PerLayerOptions = {}): Promise<PerLayerResult> {
  const { model: ref, passes: referencePasses } = referenceAfterFloatPasses(original, cand);
  const batchSize = evalBatchSize(ref, cand, data, opts.batchSize);
  const bound = evalFeeds(ref, data);
  if (!ref.graph || !cand.graph) throw new FixqError("model", "model has no graph");
  const mapping = mapQuantizedTensors(ref.graph, cand.graph);
  const acts = mapping.activations;
  const weights = mapping.weights;
  const actState: PairState[] = acts.map(() => ({ stats: new ErrorStats() }));
  const weightState: PairState[] = weights.map(() => ({ stats: new ErrorStats() }));
  const actRef = [...new Set(acts.map((a) => a.ref))];
  const actCand = [...new Set(acts.map((a) => a.cand))];
  // Weights are fetched on the first batch only.
  const allRef = [...new Set([...actRef, ...weights.map((w) => w.ref)])];
  const allCand = [...actCand, ...weights.map((w) => w.cand)];
  const sessions: OrtSession[] = [];
  const progress = opts.progress ?? silentProgress;
  let batchUsed = batchSize;
  try {
    const refSession = await asModel("REF (per-layer, opt=disabled)", () => OrtSession.create(ref, { optimization: "disabled", threads: opts.threads, extraOutputs: allRef }));
    sessions.push(refSession);
    const candSession = await asModel("CAND (per-layer, opt=disabled)", () => OrtSession.create(cand, { optimization: "disabled", threads: opts.threads, extraOutputs: allCand }));
    sessions.push(candSession);
    const compare = (state: PairState, r: HostTensor, c: HostTensor, what: string) => {
      if (state.mismatch) return;
      try {
        const rv = numeric(r, `REF ${what}`);
        const cv = numeric(c, `CAND ${what}`);
        if (rv.length !== cv.length) state.mismatch = `REF's tensor has shape ${shapeOf(r.dims)}, CAND's ${shapeOf(c.dims)}`;
        else state.stats.update(rv, cv);
      } catch (e) {
        if (!(e instanceof FixqError)) throw e;
        state.mismatch = e.message;
      }
    };
    // Weights alone need one batch; nothing at all (a float CAND), none.
    const samples = acts.length > 0 ? data.samples : weights.length > 0 ? Math.min(batchSize, data.samples) : 0;
    progress.start(samples, "per-layer");
    // The first run takes one sample (or the fixed batch) and measures what one sample's exposed tensors
    // weigh; later runs take as many samples as fit the memory budget, at most the batch size.
    let step = bound.fixedBatch ?? 1;
    for (let start = 0, count = 0; start < samples; start += count) {
      count = Math.min(step, samples - start);
      const feeds = bound.batch(start, count);
      const first = start === 0;
      const [r, c] = await Promise.all([refSession.run(feeds, first ? allRef : actRef), candSession.run(feeds, first ? allCand : actCand)]);
      for (const [i, a] of acts.entries()) compare(actState[i]!, r[a.ref]!, c[a.cand]!, `tensor '${a.ref}'`);
      if (first) {
        for (const [i, w] of weights.entries()) compare(weightState[i]!, r[w.ref]!, c[w.cand]!, `weight '${w.ref}'`);
        const perSample = acts.reduce((sum, a) => sum + tensorBytes(r[a.ref]!) + tensorBytes(c[a.cand]!), 0) / count;
        step = bound.fixedBatch ?? perLayerBatch(batchSize, perSample);
        batchUsed = step;
      }
      progress.tick(count);
    }
  } finally {
    progress.stop();
    for (const s of sessions) await s.release();
  }

  const unmapped = [...mapping.unmapped];
  const result = (pair: { cand: string; ref: string; node: NodeRef | null }, s: PairState, kind: UnmappedTensor["kind"]): LayerError | undefined => {
    if (s.mismatch) {
      unmapped.push({ candidateTensor: pair.cand, kind, reason: `mapped to '${pair.ref}', but ${s.mismatch}` });
      return undefined;
    }
    const e = s.stats;
    return { tensor: pair.ref, candidateTensor: pair.cand, node: pair.node, elements: e.count, sqnrDb: e.sqnrDb(), cosine: e.cosine(), maxAbsError: e.maxAbs, localSqnrDb: e.sqnrDb() };
  };
  const actResults = new Map<string, LayerError>();
  acts.forEach((a, i) => {
    const r = result(a, actState[i]!, "activation");
    if (r) actResults.set(a.cand, { ...r, graphIndex: i });
  });
  const upstream = upstreamActivations(cand.graph, new Set(actResults.keys()));
  const activations = [...actResults.values()].map((r) => {
    const ups = [...(upstream.get(r.candidateTensor) ?? [])].map((u) => actResults.get(u)!.sqnrDb);
    return ups.length === 0 ? r : { ...r, localSqnrDb: localSqnr(r.sqnrDb, Math.min(...ups)) };
  });
  const weightResults = weights.flatMap((w, i) => result(w, weightState[i]!, "weight") ?? []);
  return {
    samples: data.samples,
    batchSize: batchUsed,
    activations: activations.sort(byWorstSqnr),
    weights: weightResults.sort(byWorstSqnr),
    unmapped,
    referencePasses,
  };
}

/** Bytes the exposed tensors of one batch may hold (REF and CAND together). */
export const PER_LAYER_BATCH_BYTES = 512 * 2 ** 20;

/** Samples per per-layer run: at most `batchSize`, at least 1, and within PER_LAYER_BATCH_BYTES at `bytesPerSample`. */
export function perLayerBatch(batchSize: number, bytesPerSample: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(PER_LAYER_BATCH_BYTES / Math.max(1, bytesPerSample))));
}

function tensorBytes(t: HostTensor): number {
  return (t.data as { byteLength?: number }).byteLength ?? t.data.length * 8;
}

/** −10·log10(NSR − NSR_in) in dB from the SQNRs; NaN in, NaN out. */
export function localSqnr(sqnrDb: number, upstreamDb: number): number {
  if (Number.isNaN(sqnrDb) || Number.isNaN(upstreamDb)) return Number.NaN;
  const added = 10 ** (-sqnrDb / 10) - 10 ** (-upstreamDb / 10);
  return added > 0 ? -10 * Math.log10(added) : Number.POSITIVE_INFINITY;
}

/** The activation that adds the most noise itself (lowest local SQNR; NaN first); undefined when none adds any. */
export function noisiestLayer(r: PerLayerResult): LayerError | undefined {
  const worst = [...r.activations].sort((a, b) => worstFirst(a.localSqnrDb, b.localSqnrDb))[0];
  return worst?.localSqnrDb === Number.POSITIVE_INFINITY ? undefined : worst;
}
