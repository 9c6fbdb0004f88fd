/**
 * Where a QDQ model's integer-kernel run (ONNX Runtime, graph optimizations
 * on) first departs from its fake-quant run (optimizations off): the layer a
 * "deployment risk" names.
 *
 * Which tensors. Every DequantizeLinear output of CAND whose quantized input
 * is computed at run time (an activation), in graph order. Its value in
 * either run is the dequantized integer tensor the layer before it wrote.
 *
 * Faithful to the fused model. Exposing a tensor as an extra graph output can
 * stop ORT from fusing the nodes that read it (a DequantizeLinear whose output
 * is a graph output is not folded into the next integer kernel), but nothing
 * upstream of the tensor changes: the producer's QuantizeLinear output still
 * feeds only its DequantizeLinear, so the producer fuses as deployed. So each
 * check uses its own optimized session in which that one tensor is exposed,
 * and its value is the value the deployed model computes there. The fake-quant
 * reference runs once, optimizations off, every tensor exposed (nothing fuses
 * there, so exposing changes nothing).
 *
 * Diverged. With s the tensor's DequantizeLinear scale (per-tensor; the
 * largest one if per-axis), a tensor has diverged when the RMS difference of
 * the two runs exceeds one quantization step:
 *     √(Σ(int − fake)²/n) > s.
 * Rounding differences between integer requantization and float fake-quant
 * move single elements by one step, far below that; a saturating kernel
 * moves many by many steps.
 *
 * The search. Bisection over graph order (assuming a diverged tensor has only
 * diverged tensors after it, as a chain does), then a walk upstream from the
 * tensor found: while one of its nearest quantized inputs has diverged too,
 * move to it. The result is a diverged tensor whose quantized inputs all
 * agree: the node producing it is where the runs part. About log2(N) + a few
 * sessions, each run on one batch.
 */
import { FixqError } from "../ir/errors.js";
import type { Graph, Model, Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { type HostTensor, OrtSession, sliceBatch } from "../runtime/ort-session.js";
import { type EvalData, numeric } from "./eval-data.js";
import type { GateResult } from "./gate.js";

export interface Divergence {
  /** The DequantizeLinear output where the runs first part. */
  readonly tensor: string;
  /** The node computing the layer behind it (the QuantizeLinear's producer), or null for a graph input. */
  readonly node: { readonly opType: string; readonly name: string | null } | null;
  /** RMS difference integer-kernel vs fake-quant, in quantization steps of the tensor. */
  readonly rmsSteps: number;
  /** Quantized activations in the model, and how many were checked (one optimized session each). */
  readonly candidates: number;
  readonly checked: number;
}

/** A run of CAND with graph optimizations on and only `tensor` exposed; returns its values. */
export type FusedRunner = (tensor: string) => Promise<ArrayLike<number>>;

interface Activation {
  readonly tensor: string;
  readonly scale: number;
  readonly node: Node | null;
  /** Indexes of the nearest quantized activations upstream. */
  readonly inputs: readonly number[];
}

const FUSED_ACTIVATIONS = new Set(["Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid"]);
const LAYERS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

const isConst = (g: Graph) => {
  const inits = new Set(g.initializers.map((t) => t.name));
  const constOut = new Set(g.nodes.filter((n) => n.opType === "Constant").flatMap((n) => n.outputs));
  return (name: string) => inits.has(name) || constOut.has(name);
};

/** The quantized activations of `g` in graph order, with their scales and nearest quantized inputs. */
export function quantizedActivations(g: Graph): Activation[] {
  const constant = isConst(g);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const scaleOf = (name: string): number => {
    const t = g.initializers.find((i) => i.name === name);
    const c = t ?? g.nodes.find((n) => n.opType === "Constant" && n.outputs[0] === name)?.attributes.find((a) => a.name === "value")?.t;
    if (!c) return Number.NaN;
    return Math.max(...Array.from(tensorToFloat64(c)));
  };
  const acts: { tensor: string; scale: number; node: Node | null }[] = [];
  const index = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.opType !== "DequantizeLinear" || !n.outputs[0] || constant(n.inputs[0] ?? "")) continue;
    const q = producer.get(n.inputs[0]!);
    let behind = q?.opType === "QuantizeLinear" ? (producer.get(q.inputs[0] ?? "") ?? null) : (q ?? null);
    // An activation fused into its layer (Conv → Relu → Q): name the layer, "Conv+Relu".
    const layer = behind && FUSED_ACTIVATIONS.has(behind.opType) ? producer.get(behind.inputs[0] ?? "") : undefined;
    if (behind && layer && LAYERS.has(layer.opType)) behind = { ...layer, opType: `${layer.opType}+${behind.opType}` };
    index.set(n.outputs[0], acts.length);
    acts.push({ tensor: n.outputs[0], scale: scaleOf(n.inputs[1] ?? ""), node: behind });
  }
  // Nearest quantized activations upstream of each one, through any other nodes.
  const memo = new Map<string, Set<number>>();
  const upstream = (name: string, seen: Set<string>): Set<number> => {
    const hit = memo.get(name);
    if (hit) return hit;
    const out = new Set<number>();
    const p = producer.get(name);
    if (p && !seen.has(name)) {
      seen.add(name);
      for (const i of p.inputs) {
        if (!i || constant(i)) continue;
        const k = index.get(i);
        if (k !== undefined) out.add(k);
        else for (const u of upstream(i, seen)) out.add(u);
      }
    }
    memo.set(name, out);
    return out;
  };
  return acts.map((a) => {
    const dq = producer.get(a.tensor)!;
    const inputs = new Set<number>();
    for (const u of upstream(dq.inputs[0]!, new Set())) inputs.add(u);
    return { ...a, inputs: [...inputs] };
  });
}

/**
 * Finds the first diverged quantized activation (see the file comment).
 * `fake` holds every activation's fake-quant values on the same samples the
 * runner uses. Returns null when the last one in graph order has not diverged.
 */
export async function findDivergence(acts: readonly Activation[], fake: ReadonlyMap<string, ArrayLike<number>>, runFused: FusedRunner): Promise<Divergence | null> {
  const memo = new Map<number, number>();
  const steps = async (k: number): Promise<number> => {
    let v = memo.get(k);
    if (v === undefined) {
      const a = acts[k]!;
      const ref = fake.get(a.tensor);
      if (!ref) throw new FixqError("runtime", `the fake-quant run did not produce '${a.tensor}'`);
      v = rmsDifference(await runFused(a.tensor), ref) / a.scale;
      memo.set(k, v);
    }
    return v;
  };
  const diverged = async (k: number) => (await steps(k)) > 1;
  if (acts.length === 0 || !(await diverged(acts.length - 1))) return null;
  let lo = -1; // not diverged (or before the first)
  let hi = acts.length - 1; // diverged
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await diverged(mid)) hi = mid;
    else lo = mid;
  }
  let k = hi;
  for (let moved = true; moved; ) {
    moved = false;
    for (const u of acts[k]!.inputs) {
      if (await diverged(u)) {
        k = u;
        moved = true;
        break;
      }
    }
  }
  const a = acts[k]!;
  return { tensor: a.tensor, node: a.node ? { opType: a.node.opType, name: a.node.name ?? null } : null, rmsSteps: await steps(k), candidates: acts.length, checked: memo.size };
}

function rmsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return a.length ? Math.sqrt(s / a.length) : 0;
}

/** Locates the divergence of CAND on `feeds` (one batch) with real ORT sessions; see the file comment. */
export async function locateDivergence(cand: Model, feeds: Record<string, HostTensor>, threads?: number): Promise<Divergence | null> {
  if (!cand.graph) throw new FixqError("model", "model has no graph");
  const acts = quantizedActivations(cand.graph);
  if (acts.length === 0) return null;
  const names = acts.map((a) => a.tensor);
  const fake = new Map<string, ArrayLike<number>>();
  const ref = await OrtSession.create(cand, { optimization: "disabled", threads, extraOutputs: names });
  try {
    const out = await ref.run(feeds, names);
    for (const n of names) fake.set(n, numeric(out[n]!, `CAND tensor '${n}'`));
  } finally {
    await ref.release();
  }
  return findDivergence(acts, fake, async (tensor) => {
    const s = await OrtSession.create(cand, { optimization: "all", threads, extraOutputs: [tensor] });
    try {
      return numeric((await s.run(feeds, [tensor]))[tensor]!, `CAND tensor '${tensor}'`);
    } finally {
      await s.release();
    }
  });
}

/**
 * When the gate's deployment-gap check failed: locates the divergence on the
 * first batch of `data` and returns it, with the check's message naming the
 * layer. Otherwise the gate unchanged and no divergence.
 */
export async function explainDeploymentRisk(
  gate: GateResult,
  cand: Model,
  data: EvalData,
  batchSize: number,
  threads?: number,
): Promise<{ gate: GateResult; divergence?: Divergence | null }> {
  const failed = gate.checks.find((c) => c.id === "max-deployment-gap" && !c.passed);
  if (!failed) return { gate };
  const count = Math.min(batchSize, data.samples);
  const feeds: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(data.inputs)) feeds[k] = sliceBatch(t, 0, count);
  const divergence = await locateDivergence(cand, feeds, threads);
  const where = divergence ? `; first divergence at '${divergence.tensor}'${divergence.node ? ` (${divergence.node.opType} '${divergence.node.name ?? "(unnamed)"}')` : ""}` : "; no quantized activation diverges";
  const checks = gate.checks.map((c) => (c === failed ? { ...c, message: `${c.message}${where}` } : c));
  return { gate: { ...gate, checks }, divergence };
}
