/**
 * Online Hadamard before linear layers whose input cannot absorb a rotation
 * (`fixq quantize --rotate online`, after the folded pairs of rotate.ts), in
 * the spirit of QuaRot's online Hadamard: for a linear layer y = x·W (MatMul
 * with a constant weight W [K, N], or Gemm with a constant B) whose input x is
 * made by an op no rotation folds through, an explicit MatMul by a constant R
 * is inserted and Rᵀ is folded into the weight:
 *   y = x·W = (x·R)·(Rᵀ·W)          (R·Rᵀ = I, R = Rᵀ)
 * so the quantized activation (x·R, the inserted MatMul's output) and the
 * quantized weight (Rᵀ·W) both see the rotation that spreads outliers.
 * R = blockdiag(H_d, …, H_d) [K, K], H_d the normalized Sylvester Hadamard
 * matrix, d the largest power of two dividing K (d = K when K is one); layers
 * with d < 4 are left alone. All the linear readers of one activation share
 * one inserted MatMul (the attention's Q, K and V projections read one
 * LayerNorm output); other readers keep reading x.
 *
 * Where this is needed: after GELU (the MLP's second linear layer) nothing
 * linear comes before the input; after LayerNormalization, y = γ⊙n(x) + β
 * with n the per-row normalization, and y·R mixes channels, which no choice
 * of the per-channel γ′, β′ can reproduce (γ⊙n(x)·R is not a per-channel
 * scaling of n(x) unless R is diagonal), so the rotation cannot be folded
 * into the norm; QuaRot gets around it only by rewriting LayerNorm as RMSNorm
 * and rotating the whole residual stream, which fixq does not do.
 *
 * The inserted MatMuls' weights are ±1/√d (and zeros off the blocks): their
 * node names end in `/online_hadamard` (ONLINE_HADAMARD_RULE keeps them in
 * int8 per tensor, where ±1/√d is exactly ±q_max·s, so the integer lowering
 * multiplies by ±q_max and the requantization carries 1/(q_max·√d)).
 */
import { attrInt } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Model, Node } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { hadamard, type RotatedPair, rotateColumns, rotateModel, rotateRows } from "./rotate.js";

export interface OnlineRotation {
  /** The inserted MatMul node. */
  readonly node: string;
  /** The activation it rotates, and the linear layers that now read the rotated one. */
  readonly input: string;
  readonly readers: readonly string[];
  /** Width K and Hadamard block d (K / d blocks). */
  readonly width: number;
  readonly block: number;
}

/** The suffix of every inserted node's name. */
export const ONLINE_HADAMARD_SUFFIX = "/online_hadamard";

/** The recipe rule for the inserted MatMuls: int8 weights per tensor, which hold ±1/√d exactly. */
export const ONLINE_HADAMARD_RULE = { match: { nameRegex: `${ONLINE_HADAMARD_SUFFIX}$` }, weights: "int8", granularity: "per-tensor" } as const;

/** The largest power of two dividing k. */
const pow2Block = (k: number) => k & -k;

/** blockdiag(H_d, …) as a dense [k, k] matrix, row-major. */
export function blockHadamard(k: number, d: number): Float64Array {
  const h = hadamard(d);
  const r = new Float64Array(k * k);
  for (let b = 0; b < k; b += d) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) r[(b + i) * k + b + j] = h[i * d + j]!;
  return r;
}

interface Linear {
  readonly node: Node;
  readonly weight: Tensor;
  /** true: the weight is [N, K] (Gemm transB = 1). */
  readonly transposed: boolean;
  readonly k: number;
}

/** A linear layer with a constant 2-D weight on an activation input, or undefined. */
function linearOf(n: Node, consts: Map<string, Tensor>): Linear | undefined {
  if ((n.domain ?? "") !== "" || consts.has(n.inputs[0] ?? "")) return undefined;
  const w = consts.get(n.inputs[1] ?? "");
  if (w?.dims.length !== 2) return undefined;
  if (n.opType === "MatMul") return { node: n, weight: w, transposed: false, k: Number(w.dims[0]) };
  if (n.opType === "Gemm" && attrInt(n, "transA", 0) === 0) {
    const transposed = attrInt(n, "transB", 0) === 1;
    return { node: n, weight: w, transposed, k: Number(w.dims[transposed ? 1 : 0]) };
  }
  return undefined;
}

/**
 * Inserts an online Hadamard before every linear layer not named in `folded`
 * (the second layers of folded pairs, whose input is already rotated); refuses
 * a model where none applies, with the reason.
 */
export function insertOnlineHadamard(model: Model, folded: ReadonlySet<string> = new Set()): { model: Model; rotations: OnlineRotation[] } {
  const g = model.graph;
  if (!g) throw new FixqError("model", "the model has no graph");
  const consts = constantTensors(g);
  const byInput = new Map<string, Linear[]>();
  for (const n of g.nodes) {
    const l = linearOf(n, consts);
    if (!l || folded.has(n.name || n.outputs[0]!) || pow2Block(l.k) < 4) continue;
    byInput.set(n.inputs[0]!, [...(byInput.get(n.inputs[0]!) ?? []), l]);
  }
  if (byInput.size === 0) {
    throw new FixqError(
      "unsupported",
      "--rotate online: no linear layer to rotate: it needs a MatMul or Gemm with a constant 2-D weight on an activation whose width K has a power-of-two block ≥ 4 (K divisible by 4), not already rotated by a folded pair",
    );
  }
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const replaced = new Map<Node, Node>();
  const before = new Map<Node, Node>(); // first reader → the MatMul inserted ahead of it
  const added: Tensor[] = [];
  const rotations: OnlineRotation[] = [];
  for (const [x, layers] of byInput) {
    const k = layers[0]!.k;
    const d = pow2Block(k);
    const h = hadamard(d);
    const base = producer.get(x)?.name || x;
    const name = `${base}${ONLINE_HADAMARD_SUFFIX}`;
    const rotated = `${name}_output_0`;
    added.push(makeFloatTensor(`${name}.weight`, [k, k], blockHadamard(k, d)));
    before.set(layers[0]!.node, { name, opType: "MatMul", domain: "", inputs: [x, `${name}.weight`], outputs: [rotated], attributes: [] });
    for (const l of layers) {
      const w = tensorToFloat64(l.weight);
      const [r, c] = l.weight.dims.map(Number) as [number, number];
      // MatMul: W′ = Rᵀ·W (rows); Gemm transB: B′ = B·R (columns), since B′ᵀ = Rᵀ·Bᵀ
      const values = l.transposed ? rotateColumns(w, r, c, h, d) : rotateRows(w, r, c, h, d);
      const wName = `${l.weight.name}__online_rot_${added.length}`;
      added.push(makeFloatTensor(wName, [r, c], values));
      replaced.set(l.node, { ...l.node, inputs: l.node.inputs.map((v, i) => (i === 0 ? rotated : i === 1 ? wName : v)) });
    }
    rotations.push({ node: name, input: x, readers: layers.map((l) => l.node.name || l.node.outputs[0]!), width: k, block: d });
  }
  const nodes = g.nodes.flatMap((n) => {
    const out = replaced.get(n) ?? n;
    const h = before.get(n);
    return h ? [h, out] : [out];
  });
  const read = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = [...g.initializers.filter((t) => read.has(t.name ?? "")), ...added];
  return { model: { ...model, graph: { ...g, nodes, initializers, inferred: undefined } }, rotations };
}

/**
 * `--rotate online`: the folded pairs of rotate.ts, then an online Hadamard
 * before every other linear layer; refused only where neither applies.
 */
export function rotateFoldedAndOnline(model: Model): { model: Model; pairs: RotatedPair[]; rotations: OnlineRotation[] } {
  const { model: folded, pairs } = rotateModel(model, true);
  const { model: out, rotations } = insertOnlineHadamard(folded, new Set(pairs.map((p) => p.second)));
  return { model: out, pairs, rotations };
}
