/**
 * Quantization plan: which nodes run quantized, which tensors carry a
 * quantization spec, and why every other node stays float.
 *
 * - Compute ops (Conv, ConvTranspose, Gemm, MatMul): activation inputs and
 *   outputs are quantized; constant weights are quantized per channel (or per
 *   tensor), constant biases become int32 with scale s_x·s_w.
 * - Relu and Clip right after a quantized op (its only consumer) are fused:
 *   the op's output is not quantized, the activation's output is.
 * - Add, Mul, Concat, AveragePool, GlobalAveragePool, and the activations ORT
 *   runs on integers (Sigmoid → QLinearSigmoid, Softmax → QLinearSoftmax,
 *   LeakyRelu → QLinearLeakyRelu): inputs and output.
 * - MaxPool, nearest-mode Resize and shape ops (Reshape, Transpose, Flatten,
 *   Squeeze, Unsqueeze, Slice) pass the input's quantization through to their
 *   output; ORT then runs them directly on the integers.
 * - Gather from a constant float table (an embedding) is quantized weight
 *   only: the table is stored as integers with a scale per row (int8 by
 *   default; the recipe's 4-bit blocks along the row on request), read
 *   through DequantizeLinear or GatherBlockQuantized (embedding-gather.ts);
 *   the gathered rows stay float, except where they are a graph output (a
 *   model of embeddings alone): then they are quantized as an activation,
 *   so that the integer lowering has codes to gather.
 * - Only float values (float32, float16, bfloat16) that carry data are ever
 *   quantized (value-kinds.ts): a node computing on integers, booleans or
 *   shape-derived values (Shape → Gather → Concat reshape targets) is not
 *   float compute and is marked `notFloat`, whatever its op.
 * - An attention mask (passes/key-mask.ts: a term computed from boolean or
 *   integer inputs, added to scores that a Softmax reads) stays float, its
 *   arithmetic and the Add included: −inf (or −10000) has no quantized form,
 *   and a float Softmax gives a masked key probability 0 exactly. The scores
 *   and the Softmax output are quantized as usual. So is a constant mask
 *   selected by Where (GPT-2's causal mask, key-mask.ts constantMaskWheres).
 * - Everything else stays float, with the reason recorded. Measured with ORT
 *   1.30 (CPU): HardSigmoid, HardSwish, Gelu, Tanh and non-nearest Resize keep
 *   a float kernel between DQ and Q, so quantizing them would only add error.
 */
import { attrFloat, attrInt, attrString } from "../ir/attrs.js";
import { type Graph, type Node, readersOf } from "../ir/graph.js";
import { dtypeName } from "../ir/dtype.js";
import { constantTensors } from "../ir/infer-types.js";
import { constantMaskWheres, keyMaskAdds, maskDerivedValues, maskTermValues } from "../passes/key-mask.js";
import type { Tensor } from "../ir/tensor.js";
import { type NodeSettingsTable, nodeSettings } from "./node-settings.js";
import type { Recipe } from "./recipe.js";
import { isQuantizableType, type ValueKinds, valueKinds } from "./value-kinds.js";

const COMPUTE = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);
const ELEMENTWISE = new Set(["Add", "Mul", "Concat", "AveragePool", "GlobalAveragePool", "Sigmoid", "Softmax", "LeakyRelu"]);
export const PASS_THROUGH: ReadonlySet<string> = new Set(["MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Resize"]);
const FUSED_ACTIVATIONS = new Set(["Relu", "Clip"]);
const NO_INTEGER_KERNEL = new Set(["HardSigmoid", "HardSwish", "Gelu", "Tanh", "Resize"]);

export type NodeRole = "compute" | "elementwise" | "pass-through" | "fused-activation" | "weight-only";

export interface NodeDecision {
  readonly node: Node;
  readonly index: number;
  readonly quantized: boolean;
  readonly role?: NodeRole;
  readonly reason: string;
  /** The node computes on integer, boolean or shape-derived values: not float compute, nothing to quantize. */
  readonly notFloat?: boolean;
}

export interface WeightUse {
  readonly node: Node;
  /** Input slot: 1 for the weight, 2 for a bias. */
  readonly slot: number;
  readonly tensor: Tensor;
  /** Channel axis of the weight for per-channel quantization (-1: per tensor). */
  readonly axis: number;
  /** Constant inputs of elementwise ops use the activation format, as their integer kernels require. */
  readonly asActivation?: boolean;
  /** The table of an embedding Gather: quantized per row (axis 0), or in blocks along the row. */
  readonly embedding?: boolean;
}

export interface QuantPlan {
  readonly decisions: NodeDecision[];
  /** Activation tensors calibrated and quantized. */
  readonly activations: string[];
  /** Tensors that take another tensor's spec (pass-through outputs → their input). */
  readonly sharedWith: Map<string, string>;
  readonly weights: WeightUse[];
  readonly biases: WeightUse[];
}

/** Output-channel axis of a compute op's weight, or -1 when per-channel does not apply. */
function weightAxis(n: Node, w: Tensor): number {
  switch (n.opType) {
    case "Conv":
      return 0;
    case "ConvTranspose":
      return attrInt(n, "group", 1) === 1 ? 1 : -1;
    case "Gemm":
      return attrInt(n, "transB", 0) ? 0 : 1;
    case "MatMul":
      return w.dims.length >= 2 ? w.dims.length - 1 : -1;
    default:
      return -1;
  }
}

const UNKNOWN_TYPE = "element type unknown (neither inference nor ONNX Runtime could tell)";

/** Why a value cannot be quantized, or undefined when it is float (and, as an output, carries data). */
function notFloatReason(name: string, kinds: ValueKinds, asOutput = true): string | undefined {
  if (asOutput && kinds.shapeDerived.has(name)) return "computes on shapes (shape arithmetic), not data";
  const t = kinds.dtype.get(name);
  if (t === undefined) return UNKNOWN_TYPE;
  return isQuantizableType(t) ? undefined : `computes on ${dtypeName(t)} values, not float`;
}

/**
 * Whether a decision quantizes a layer: a compute op, or an embedding table
 * (weight-only), so that a model of embeddings alone (torch nn.Embedding) has
 * something to quantize.
 */
export function quantizesLayer(d: NodeDecision): boolean {
  return d.quantized && (d.role === "compute" || d.role === "weight-only");
}

/** The bias of a Conv or Gemm that becomes int32: a constant 1-D third input (a Gemm's only where beta ≠ 0, else it adds nothing). */
export function constantBias(n: Node, consts: ReadonlyMap<string, Tensor>): Tensor | undefined {
  const b = consts.get(n.inputs[2] ?? "");
  const used = n.opType === "Conv" || (n.opType === "Gemm" && attrFloat(n, "beta", 1) !== 0);
  return b && used && b.dims.length === 1 ? b : undefined;
}

/**
 * The plan for `g` under the recipe. `kinds` gives element types and
 * shape-derived values (value-kinds.ts); without it they come from static
 * inference alone. `nodes` is the recipe applied to g's nodes
 * (node-settings.ts), computed here when not given.
 */
export function planQuantization(g: Graph, recipe: Recipe, kinds: ValueKinds = valueKinds(g), nodes: NodeSettingsTable = nodeSettings(g, recipe)): QuantPlan {
  const index = new Map(g.nodes.map((n, i) => [n, i]));
  const settingsOf = (n: Node) => nodes[index.get(n)!]!;
  // Constant-node tensors carry no name of their own (or an unrelated one): name each after the value it
  // defines, so that weights are told apart and their float originals can be dropped after quantization.
  const consts = new Map<string, Tensor>();
  for (const [value, t] of constantTensors(g)) consts.set(value, t.name === value ? t : { ...t, name: value });
  const consumers = readersOf(g);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const excluded = (n: Node) => settingsOf(n).skipped !== undefined;
  const maskDerived = maskDerivedValues(g);
  const maskedAdds = keyMaskAdds(g, maskDerived);
  const maskTerms = maskTermValues(g, maskedAdds, maskDerived);
  const maskedWheres = constantMaskWheres(g);

  const decisions: NodeDecision[] = [];
  const quantizedOut = new Set<string>(); // outputs known to carry quantization
  const activations = new Set<string>();
  const sharedWith = new Map<string, string>();
  const weights: WeightUse[] = [];
  const biases: WeightUse[] = [];
  const fusedInto = new Set<Node>(); // activations fused into their producer

  const isActivation = (name: string) => name !== "" && !consts.has(name);
  /** Quantizes a node's output, or fuses a following Relu/Clip (its only consumer) and quantizes that instead. */
  const quantizeOutput = (n: Node) => {
    const y = n.outputs[0]!;
    const next = consumers.get(y) ?? [];
    if (next.length === 1 && FUSED_ACTIVATIONS.has(next[0]!.opType) && !graphOutputs.has(y) && !excluded(next[0]!)) {
      fusedInto.add(next[0]!);
    } else {
      activations.add(y);
      quantizedOut.add(y);
    }
  };

  const classify = (n: Node, index: number): NodeDecision => {
    const decide = (quantized: boolean, reason: string, role?: NodeRole): NodeDecision => ({ node: n, index, quantized, reason, role });
    if ((n.domain ?? "") !== "" && n.domain !== "ai.onnx") return decide(false, `custom domain ${n.domain}`);
    if (excluded(n)) return decide(false, settingsOf(n).skipped!);
    const masked = maskedAdds.get(n.outputs[0] ?? "");
    // the scores stay quantized (the integer Softmax reads their codes); the sum does not
    if (masked) activations.add(masked.scores);
    if (masked) return decide(false, `adds the attention mask of input '${masked.source}': kept float, so that the Softmax gives masked keys probability 0`);
    const where = maskedWheres.get(n.outputs[0] ?? "");
    if (where) activations.add(where.scores);
    if (where) return decide(false, "applies a constant attention mask (causal): kept float, so that the Softmax gives masked keys probability 0");
    const maskSource = maskTerms.get(n.outputs[0] ?? "");
    if (maskSource !== undefined) return { ...decide(false, `computes the attention mask of input '${maskSource}', not float data`), notFloat: true };
    if (fusedInto.has(n)) {
      activations.add(n.outputs[0]!);
      quantizedOut.add(n.outputs[0]!);
      return decide(true, "fused with its producer", "fused-activation");
    }
    if (COMPUTE.has(n.opType) || ELEMENTWISE.has(n.opType)) {
      // Every value the node reads or writes must be float, and its output must carry data: shape arithmetic
      // and integer ops stay as they are. (A float input built from shapes alone, such as an embedding Expand-ed to
      // the batch, is fine where it meets data.)
      const out = n.outputs[0] ?? "";
      for (const v of [...n.inputs.filter((i) => i !== "" && !consts.has(i)), out]) {
        const why = notFloatReason(v, kinds, v === out);
        if (why) return { ...decide(false, why), notFloat: why !== UNKNOWN_TYPE };
      }
      const c = n.inputs.map((i) => consts.get(i)).find((t) => t !== undefined && !isQuantizableType(t.dtype));
      if (c) return { ...decide(false, `reads ${dtypeName(c.dtype)} constants, not float`), notFloat: true };
    }
    if (n.opType === "Gather") {
      const table = consts.get(n.inputs[0] ?? "");
      if (!table) return decide(false, "gathers from computed data, not from a constant table");
      if (table.dtype !== 1 || table.dims.length !== 2 || attrInt(n, "axis", 0) !== 0) return decide(false, "not an embedding (a constant float32 table of rank 2 gathered along axis 0)");
      weights.push({ node: n, slot: 0, tensor: table, axis: 0, embedding: true });
      // the embedding is what the model returns (an nn.Embedding export): its rows leave as codes of one scale,
      // as another reader's input would be, so that integer code can run the model
      if (graphOutputs.has(n.outputs[0]!)) activations.add(n.outputs[0]!);
      return decide(true, "embedding table stored quantized, rows gathered in float", "weight-only");
    }
    if (COMPUTE.has(n.opType)) {
      const x = n.inputs[0] ?? "";
      if (!isActivation(x)) return decide(false, "constant input (folded, nothing to run)");
      activations.add(x);
      const wName = n.inputs[1] ?? "";
      const w = consts.get(wName);
      if (w) {
        if (w.dtype !== 1) return decide(false, `weight is not float32`);
        const axis = settingsOf(n).settings.granularity.kind === "per-tensor" ? -1 : weightAxis(n, w);
        weights.push({ node: n, slot: 1, tensor: w, axis });
      } else activations.add(wName);
      const b = w && constantBias(n, consts);
      if (b) biases.push({ node: n, slot: 2, tensor: b, axis: 0 });
      quantizeOutput(n);
      return decide(true, "quantized", "compute");
    }
    if (ELEMENTWISE.has(n.opType)) {
      const ins = n.inputs.filter((i) => i !== "");
      if (!ins.some(isActivation)) return decide(false, "all inputs constant");
      n.inputs.forEach((i, slot) => {
        const c = consts.get(i);
        if (!i) return;
        if (!c) {
          if (!maskedAdds.has(i) && !maskedWheres.has(i)) activations.add(i);
        } else if (c.dtype === 1) weights.push({ node: n, slot, tensor: c, axis: -1, asActivation: true });
      });
      quantizeOutput(n);
      return decide(true, "quantized", "elementwise");
    }
    if (PASS_THROUGH.has(n.opType) && !(n.opType === "Resize" && (attrString(n, "mode") ?? "nearest") !== "nearest")) {
      const x = n.inputs[0] ?? "";
      if (!quantizedOut.has(x) && !activations.has(x)) return decide(false, "input is not quantized");
      sharedWith.set(n.outputs[0]!, sharedWith.get(x) ?? x);
      quantizedOut.add(n.outputs[0]!);
      return decide(true, "passes its input's quantization through", "pass-through");
    }
    if (FUSED_ACTIVATIONS.has(n.opType)) return decide(false, "not directly after a quantized op");
    if (n.opType === "Resize") return decide(false, "no integer kernel in ONNX Runtime (CPU) for non-nearest Resize in QDQ form");
    if (NO_INTEGER_KERNEL.has(n.opType)) return decide(false, "no integer kernel in ONNX Runtime (CPU) for this op in QDQ form");
    if (n.attributes.some((a) => a.g || a.graphs?.length)) return decide(false, "control flow: its bodies are planned as graphs of their own");
    return decide(false, "op not handled by fixq's quantizer");
  };
  g.nodes.forEach((n, index) => {
    const d = classify(n, index);
    // A node left alone whose output is not float data (Shape, Cast to int64, integer Gather, …) is not float compute either.
    const why = !d.quantized && !d.notFloat && n.outputs[0] ? notFloatReason(n.outputs[0], kinds) : undefined;
    decisions.push(why && why !== UNKNOWN_TYPE ? { ...d, reason: why, notFloat: true } : d);
  });
  // A pass-through output shares its source's spec; the source must be calibrated.
  for (const src of sharedWith.values()) activations.add(src);
  return { decisions, activations: [...activations].filter((a) => !sharedWith.has(a)), sharedWith, weights, biases };
}
