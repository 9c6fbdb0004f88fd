/**
 * Hadamard rotation of linear-layer pairs (`fixq quantize --rotate`), in the
 * spirit of HQ-DiT and QuaRot: an orthogonal R between two linear layers
 * spreads activation outliers over many channels before quantization and
 * leaves the float function unchanged:
 *   y = (x·W1 + b1)·W2 = (x·W1·R + b1·R)·(Rᵀ·W2)        (R·Rᵀ = I)
 * R is block-diagonal, one normalized Sylvester Hadamard H_d = H_d^T,
 * H_d·H_d = I, per block of d consecutive channels. Pairs rotated:
 *   - value → output projection of attention: W1 = W_v, then Reshape to
 *     [heads, d], Transpose, the right operand of attention·V, Transpose,
 *     Reshape back, W2 = W_o. Right-multiplying each head's V by H_d commutes
 *     with the attention weights on the left, so d is the head dim;
 *   - linear → linear: W1's output (after its bias) read only by W2's MatMul
 *     (d = the full width, a power of two).
 * W1, W2 are constant MatMul weights [K, n] and [n, M]; their rotated copies
 * are new initializers. Pairs whose block is not a power of two are skipped;
 * a model with no pair is refused with the reason (`rotateModel`).
 */
import { attrInts } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import { type Graph, type Model, type Node, readersOf } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";

export interface RotatedPair {
  /** The MatMul nodes of W1 and W2. */
  readonly first: string;
  readonly second: string;
  /** The Hadamard block size d. */
  readonly block: number;
  readonly kind: "value-output" | "linear-linear";
}

/** The normalized Sylvester Hadamard matrix of order d (a power of two), row-major. */
export function hadamard(d: number): Float64Array {
  const h = new Float64Array(d * d);
  const s = 1 / Math.sqrt(d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      // (−1)^popcount(i & j)
      let v = i & j;
      let parity = 0;
      while (v) {
        parity ^= v & 1;
        v >>= 1;
      }
      h[i * d + j] = parity ? -s : s;
    }
  }
  return h;
}

export const isPow2 = (d: number) => d >= 1 && (d & (d - 1)) === 0;

/** w [rows, n] with its columns rotated blockwise: w·R. */
export function rotateColumns(w: Float64Array, rows: number, n: number, h: Float64Array, d: number): Float64Array {
  const out = new Float64Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < n; b += d) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += w[r * n + b + k]! * h[k * d + j]!;
        out[r * n + b + j] = s;
      }
    }
  }
  return out;
}

/** w [n, cols] with its rows rotated blockwise: Rᵀ·w. */
export function rotateRows(w: Float64Array, n: number, cols: number, h: Float64Array, d: number): Float64Array {
  const out = new Float64Array(w.length);
  for (let b = 0; b < n; b += d) {
    for (let i = 0; i < d; i++) {
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += h[k * d + i]! * w[(b + k) * cols + c]!;
        out[(b + i) * cols + c] = s;
      }
    }
  }
  return out;
}

interface Pair {
  readonly w1: Node;
  readonly bias?: { node: Node; slot: number };
  readonly w2: Node;
  readonly block: number;
  readonly kind: RotatedPair["kind"];
}

/**
 * The last dim a Reshape gives: from shape inference, else the last entry of
 * its target when that is a Concat ending in a positive constant. A dynamic-axes
 * torch export computes view(B, T, h, d) as Reshape(x, Concat(Unsqueeze(B),
 * Unsqueeze(T), [h], [d])), which static inference cannot size, but d is there.
 */
function reshapeLastDim(n: Node, types: ReturnType<typeof inferTypes>, consts: ReturnType<typeof constantTensors>, producer: ReadonlyMap<string, Node>): number | undefined {
  const last = types.get(n.outputs[0]!)?.shape?.at(-1);
  if (typeof last === "number") return last;
  const concat = producer.get(n.inputs[1] ?? "");
  const tail = concat?.opType === "Concat" ? consts.get(concat.inputs.at(-1) ?? "") : undefined;
  const v = tail && tail.dims.reduce((a, b) => a * b, 1) === 1 ? tensorToFloat64(tail)[0]! : undefined;
  return v !== undefined && v > 0 ? v : undefined;
}

/** Finds the pairs of `g` (see the file comment). */
function findPairs(g: Graph): Pair[] {
  const consts = constantTensors(g);
  const types = inferTypes(g);
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readers = readersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const sole = (v: string) => (readers.get(v)?.length === 1 && !outputs.has(v) ? readers.get(v)![0] : undefined);
  const weight = (n: Node) => (n.opType === "MatMul" && (n.domain ?? "") === "" ? consts.get(n.inputs[1] ?? "") : undefined);
  const pairs: Pair[] = [];
  for (const w1 of g.nodes) {
    const W1 = weight(w1);
    if (W1?.dims.length !== 2 || consts.has(w1.inputs[0] ?? "")) continue;
    const n = W1.dims[1]!;
    let v = w1.outputs[0]!;
    let next = sole(v);
    let bias: Pair["bias"];
    if (next?.opType === "Add") {
      const slot = next.inputs[0] === v ? 1 : 0;
      const b = consts.get(next.inputs[slot] ?? "");
      if (b && b.dims.length === 1 && b.dims[0] === n) {
        bias = { node: next, slot };
        v = next.outputs[0]!;
        next = sole(v);
      }
    }
    if (!next) continue;
    if (weight(next) && next.inputs[0] === v && weight(next)!.dims[0] === n && isPow2(n)) {
      pairs.push({ w1, bias, w2: next, block: n, kind: "linear-linear" });
      continue;
    }
    // value → output: Reshape [.., h, d] → Transpose (last axis stays) → MatMul(attn, ·) → Transpose → Reshape [.., n] → MatMul(·, W_o)
    const chain = ["Reshape", "Transpose", "MatMul", "Transpose", "Reshape"];
    let d = 0;
    let ok = true;
    for (const op of chain) {
      if (next?.opType !== op) {
        ok = false;
        break;
      }
      if (op === "MatMul" && (next.inputs[1] !== v || consts.has(next.inputs[0] ?? ""))) ok = false;
      if (op === "Transpose") {
        const perm = attrInts(next, "perm");
        if (!perm || perm[perm.length - 1] !== perm.length - 1) ok = false;
      }
      if (op === "Reshape") {
        const last = reshapeLastDim(next, types, consts, producer);
        if (last === undefined) ok = false;
        else if (d === 0) d = last;
        else if (last !== n) ok = false;
      }
      if (!ok) break;
      v = next.outputs[0]!;
      next = sole(v);
    }
    if (!ok || !next || d === 0 || n % d !== 0 || !isPow2(d)) continue;
    const W2 = weight(next);
    if (W2 && next.inputs[0] === v && W2.dims[0] === n) pairs.push({ w1, bias, w2: next, block: d, kind: "value-output" });
  }
  return pairs;
}

/** Replaces constant input `slot` of `node` by a rotated copy named after it. */
function rotatedInput(node: Node, slot: number, t: Tensor, values: Float64Array, added: Tensor[]): Node {
  const name = `${t.name}__rot_${added.length}`;
  added.push(makeFloatTensor(name, t.dims, values));
  return { ...node, inputs: node.inputs.map((x, i) => (i === slot ? name : x)) };
}

/** The model with every pair rotated; refuses a model with none (unless `allowNone`), naming what was looked for. */
export function rotateModel(model: Model, allowNone = false): { model: Model; pairs: RotatedPair[] } {
  const g = model.graph;
  if (!g) throw new FixqError("model", "the model has no graph");
  const pairs = findPairs(g);
  if (pairs.length === 0 && !allowNone) {
    throw new FixqError(
      "unsupported",
      "--rotate: no pair to rotate: it needs an attention value → output projection (MatMul W_v, reshape to heads of a power-of-two size, attention·V, reshape back, MatMul W_o) or two MatMuls with constant weights in a row (a power-of-two width between them), where the rotation folds into the weights and keeps the float function",
    );
  }
  const consts = constantTensors(g);
  const replaced = new Map<Node, Node>();
  const added: Tensor[] = [];
  const get = (n: Node) => replaced.get(n) ?? n;
  for (const p of pairs) {
    const h = hadamard(p.block);
    const W1 = consts.get(p.w1.inputs[1]!)!;
    const W2 = consts.get(p.w2.inputs[1]!)!;
    const [k, n] = W1.dims as [number, number];
    const m = W2.dims[1]!;
    replaced.set(p.w1, rotatedInput(get(p.w1), 1, W1, rotateColumns(tensorToFloat64(W1), k, n, h, p.block), added));
    replaced.set(p.w2, rotatedInput(get(p.w2), 1, W2, rotateRows(tensorToFloat64(W2), n, m, h, p.block), added));
    if (p.bias) {
      const b = consts.get(p.bias.node.inputs[p.bias.slot]!)!;
      replaced.set(p.bias.node, rotatedInput(get(p.bias.node), p.bias.slot, b, rotateColumns(tensorToFloat64(b), 1, n, h, p.block), added));
    }
  }
  const nodes = g.nodes.map(get);
  const read = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = [...g.initializers.filter((t) => read.has(t.name ?? "")), ...added];
  const report = pairs.map((p) => ({ first: p.w1.name || p.w1.outputs[0]!, second: p.w2.name || p.w2.outputs[0]!, block: p.block, kind: p.kind }));
  return { model: { ...model, graph: { ...g, nodes, initializers, inferred: undefined } }, pairs: report };
}
