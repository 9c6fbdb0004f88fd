/**
 * `integerize`: lowers a quantized graph (float ops with integer quantization
 * specs on their values, as `stripQdq` gives them) to an integer-only
 * `Program` (program.ts). Graph inputs are quantized once, graph outputs
 * dequantized once, and everything between is integer arithmetic:
 * accumulate ops with int32 bias, dyadic requantization per channel (HAWQ-V3),
 * residual Adds as per-branch rescales summed before one rounding, pools as
 * integer sums times a dyadic reciprocal, and Relu/ReLU6 as integer clamps.
 *
 * Unsupported ops are all listed in one error; a value without an integer
 * spec where one is needed is named with the node that reads it.
 */
import { FixqError } from "../ir/errors.js";
import type { Graph, Model, Node } from "../ir/graph.js";
import { foldShapes } from "../passes/fold-shapes.js";
import { sampleGraph } from "../passes/sample-axis.js";
import { tensorTypeOf } from "../ir/types.js";
import { readQdq, stripQdq } from "../quant/qdq-read.js";
import { lowerConv, lowerDense } from "./lower-linear.js";
import { lowerResize } from "./lower-resize.js";
import { lowerConvTranspose } from "./lower-conv-transpose.js";
import { lowerAdd, lowerClamp, lowerConcat, lowerMovement, lowerPool } from "./lower-elementwise.js";
import { type IntegerizeOptions, LoweringContext, label } from "./lowering-context.js";
import type { Program, ProgramIo } from "./program.js";
import { lowerAddConst } from "./lower-addconst.js";
import { lowerActMatMul, lowerSoftmax } from "./lower-attention.js";
import { lowerActMul } from "./lower-mul.js";
import { lowerActDiv } from "./lower-div.js";
import { lowerLayerNorm, lowerReduceMean } from "./lower-norm.js";
import { lowerTable, startsTable, UNARY_OPS } from "./lower-unary.js";
import { widenAccumulators } from "./widen-accumulators.js";
import { foldConstantGathers, isIntegerInput, lowerCast, lowerGather, lowerSlice, quantizeIntegerInput } from "./lower-gather.js";
import { verifyProgram } from "./verify-program.js";
import { constantMaskWheres, keyMaskAdds, maskDerivedValues, maskTermValues } from "../passes/key-mask.js";
import { foldConstants } from "../passes/fold-constants.js";
import { lowerConstantMaskedSoftmax, lowerMaskedSoftmax, maskChainNodes } from "./lower-key-mask.js";
import { checkFixedWriters } from "./lower-fixed.js";

export type { IntegerizeOptions } from "./lowering-context.js";

type Lower = (ctx: LoweringContext, n: Node) => void;

const MOVEMENT = ["Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Transpose"] as const;

/** MatMul: a constant right-hand side is a dense layer; two activations an integer matmul. */
function lowerMatMul(ctx: LoweringContext, n: Node): void {
  if (ctx.consts.has(n.inputs[1] ?? "") || ctx.consts.has(n.inputs[0] ?? "")) lowerDense(ctx, n);
  else lowerActMatMul(ctx, n);
}

/** An elementwise op: a table of one activation, the sum (Add), product (Mul) or quotient (Div) of two, or an activation plus a constant tensor (Add). */
function lowerElementwise(ctx: LoweringContext, n: Node): void {
  const consts = n.inputs.filter((i) => ctx.consts.has(i)).length;
  const clamp = n.opType === "Relu" || n.opType === "Clip";
  // a clamp of its own keeps its exact rescale (no table, any width)
  if (clamp && ctx.lowered.has(n.inputs[0]!) && ctx.actSpec(n.outputs[0]!, label(n))) lowerClamp(ctx, n);
  else if (startsTable(ctx, n)) lowerTable(ctx, n);
  else if (n.opType === "Add" && consts === 1) lowerAddConst(ctx, n);
  else if (n.opType === "Add" && consts === 0) lowerAdd(ctx, n);
  else if (n.opType === "Mul" && consts === 0) lowerActMul(ctx, n);
  else if (n.opType === "Div" && consts === 0) lowerActDiv(ctx, n);
  else if (clamp) lowerClamp(ctx, n);
  else {
    throw new FixqError(
      "unsupported",
      `cannot integerize: ${label(n)} combines two activations or a non-scalar constant; integer code covers functions of one activation (tables), Add, Mul and Div of two activations, and Add of a constant`,
    );
  }
}

/** The ops integer code covers, and how each is lowered. */
const LOWERINGS: Readonly<Record<string, Lower>> = {
  ...Object.fromEntries(UNARY_OPS.map((op) => [op, lowerElementwise])),
  Conv: lowerConv,
  ConvTranspose: lowerConvTranspose,
  Gemm: lowerDense,
  MatMul: lowerMatMul,
  Softmax: lowerSoftmax,
  LayerNormalization: lowerLayerNorm,
  RMSNormalization: lowerLayerNorm,
  ReduceMean: lowerReduceMean,
  MaxPool: lowerPool,
  AveragePool: lowerPool,
  GlobalAveragePool: lowerPool,
  GlobalMaxPool: lowerPool,
  Concat: lowerConcat,
  Gather: lowerGather,
  GatherBlockQuantized: lowerGather,
  Cast: lowerCast,
  Slice: lowerSlice,
  Resize: lowerResize,
  Upsample: lowerResize,
  ...Object.fromEntries(MOVEMENT.map((op) => [op, lowerMovement])),
};

/** Every node integer code cannot run, grouped by op, in one message. */
function checkSupported(g: Graph, skip: ReadonlySet<Node>): void {
  const bad = new Map<string, Node[]>();
  for (const n of g.nodes) {
    if (skip.has(n)) continue;
    const domain = n.opType === "GatherBlockQuantized" ? "com.microsoft" : "";
    const known = (n.domain ?? "") === domain && (n.opType === "Constant" || Object.hasOwn(LOWERINGS, n.opType));
    if (!known) bad.set(n.opType, [...(bad.get(n.opType) ?? []), n]);
  }
  if (bad.size === 0) return;
  const list = [...bad].map(([op, ns]) => `${op} ×${ns.length} (first '${ns[0]!.name || ns[0]!.outputs[0]}')`).join(", ");
  throw new FixqError("unsupported", `cannot integerize: unsupported ops: ${list}; integer-only code covers ${Object.keys(LOWERINGS).join(", ")}${symbolicHint(g)}`);
}

/** A hint when shape arithmetic stays because an input has a symbolic dim after the batch (a sequence length). */
function symbolicHint(g: Graph): string {
  for (const v of g.inputs) {
    const shape = tensorTypeOf(v.type)?.shape;
    const at = shape?.findIndex((d, i) => i > 0 && typeof d !== "number") ?? -1;
    if (shape && at > 0) {
      const example = shape.map((d, i) => (i === 0 ? 1 : typeof d === "number" ? d : "L")).join("x");
      return ` (input '${v.name}' has the symbolic dim ${at} '${shape[at] ?? "?"}': pin it with --input-shape ${v.name}=${example}, the batch stays free)`;
    }
  }
  return "";
}

function quantizeInputs(ctx: LoweringContext): ProgramIo[] {
  const inputs: ProgramIo[] = [];
  const initializers = new Set(ctx.graph.initializers.map((t) => t.name));
  // an input nothing reads (another tool's leftover) is not part of the program
  const read = new Set([...ctx.graph.nodes.flatMap((n) => n.inputs), ...ctx.graph.outputs.map((o) => o.name)]);
  for (const v of ctx.graph.inputs) {
    if (initializers.has(v.name) || !read.has(v.name)) continue;
    const where = `input '${v.name}'`;
    if (isIntegerInput(ctx, v.name)) {
      const shape = ctx.sampleShape(v.name, where);
      inputs.push({ name: v.name, shape, integer: true });
      quantizeIntegerInput(ctx, v.name, shape);
      continue;
    }
    // A graph input's spec may sit after a leading reshape (e.g. Flatten → Gemm): quantization commutes with it.
    const reader = ctx.soleReader(v.name);
    const spec =
      ctx.actSpec(v.name, where) ??
      (reader && (MOVEMENT as readonly string[]).includes(reader.opType) ? ctx.actSpec(reader.outputs[0]!, label(reader)) : undefined);
    const shape = ctx.sampleShape(v.name, where);
    inputs.push({ name: v.name, shape });
    if (!spec) continue; // its readers report it as float
    const out = ctx.addValue(`${v.name}_q`, shape, spec.type, spec);
    ctx.ops.push({ kind: "quantize", source: where, input: v.name, output: out, scale: spec.scale, zeroPoint: spec.zeroPoint, qmin: spec.qmin, qmax: spec.qmax });
    ctx.lowered.set(v.name, out);
  }
  return inputs;
}

function dequantizeOutputs(ctx: LoweringContext): ProgramIo[] {
  return ctx.graph.outputs.map((v) => {
    const x = ctx.lowered.get(v.name);
    if (!x) throw new FixqError("unsupported", `not fully quantized: graph output '${v.name}' has no integer quantization spec`);
    const s = ctx.specOfInt(x);
    ctx.ops.push({ kind: "dequantize", source: `output '${v.name}'`, input: x, output: v.name, scale: s.scale, zeroPoint: s.zeroPoint });
    return { name: v.name, shape: ctx.values.get(x)!.shape };
  });
}

/** Folds the conditions of constant attention masks (GPT-2's causal mask, sliced once the sequence length is pinned) to constants. */
function foldMaskConditions(g: Graph): Graph {
  const wheres = [...constantMaskWheres(g).values()];
  if (wheres.length === 0) return g;
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const chain = new Set<Node>();
  const stack = wheres.map((w) => w.condition);
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || chain.has(n)) continue;
    chain.add(n);
    stack.push(...n.inputs.filter((i) => i));
  }
  const r = foldConstants(g, (n) => chain.has(n));
  return r.report.folded.length > 0 ? r.graph : g;
}

/** Shape folding, then mask conditions, again while a folded mask lets shape inference see past its Where (the next block's shapes). */
function foldShapesAndMasks(graph: Graph): Graph {
  let g = foldConstantGathers(foldShapes(graph, true).graph);
  for (;;) {
    const masked = foldMaskConditions(g);
    if (masked === g) return g;
    g = foldConstantGathers(foldShapes(masked, true).graph);
  }
}

/** Lowers a stripped quantized graph (float ops, specs in `g.quant`) to an integer program. */
export function integerize(graph: Graph, opts: IntegerizeOptions = {}): Program {
  // shape arithmetic of torch exports folds for the per-sample shapes (batch symbolic);
  // a graph that moves the batch off the leading axis is lowered as one sample of itself
  const sample = sampleGraph(graph);
  const g = foldShapesAndMasks(sample?.graph ?? graph);
  const wheres = constantMaskWheres(g);
  // attention masks: their arithmetic and the Add become the key mask of the Softmax (lower-key-mask.ts)
  const derived = maskDerivedValues(g);
  const masks = keyMaskAdds(g, derived);
  const terms = maskTermValues(g, masks, derived);
  const maskNodes = maskChainNodes(g, terms);
  checkSupported(g, new Set([...maskNodes, ...[...masks.values()].map((m) => m.add), ...[...wheres.values()].map((m) => m.where)]));
  const ctx = new LoweringContext(g, opts);
  for (const m of masks.values()) if (!g.nodes.some((n) => !maskNodes.has(n) && n.inputs.includes(m.source))) ctx.maskInputs.add(m.source);
  const inputs = quantizeInputs(ctx);
  for (const n of g.nodes) {
    if (n.opType === "Constant" || ctx.consumed.has(n) || maskNodes.has(n)) continue;
    const m = masks.get(n.outputs[0] ?? "");
    const w = wheres.get(n.outputs[0] ?? "");
    if (m) lowerMaskedSoftmax(ctx, m, terms);
    else if (w) lowerConstantMaskedSoftmax(ctx, w);
    else LOWERINGS[n.opType]!(ctx, n);
  }
  const withAxis = (io: ProgramIo): ProgramIo => (sample?.batchAxes.has(io.name) ? { ...io, batchAxis: sample.batchAxes.get(io.name)! } : io);
  const outputs = dequantizeOutputs(ctx).map(withAxis);
  checkFixedWriters(ctx.ops, ctx.values);
  const program: Program = { inputs: inputs.map(withAxis), outputs, values: ctx.values, ops: ctx.ops, rounding: ctx.rounding, multiplierBits: ctx.multiplierBits };
  const problems = verifyProgram(program);
  if (problems.length > 0) throw new Error(`integerize produced an invalid program: ${problems[0]}`);
  return widenAccumulators(program);
}

/**
 * Integerizes any QDQ model (fixq's `quantize` output, ONNX Runtime's
 * `quantize_static`, …): reads its Q/DQ pairs back into specs, then lowers.
 */
export function integerizeModel(model: Model, opts: IntegerizeOptions = {}): Program {
  const g = model.graph;
  if (!g) throw new FixqError("model", "the model has no graph");
  const view = readQdq(g);
  if (view.activations.size === 0 && view.weights.size === 0) {
    throw new FixqError("unsupported", "not quantized: the model has no QuantizeLinear/DequantizeLinear pairs; run `fixq quantize` first");
  }
  for (const note of view.notes) opts.onNote?.(note);
  const first = view.unmatched[0];
  if (first) throw new FixqError("unsupported", `cannot integerize: ${label(first.node)} is not a Q/DQ pattern fixq reads: ${first.reason}`);
  return integerize(stripQdq(g, view).graph, opts);
}
