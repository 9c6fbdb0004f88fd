/**
 * The index ops of BERT-style graphs, lowered to integers:
 *
 * - Integer graph inputs (int64 ids, an attention mask) stay integers: their
 *   `quantize` op has scale 1 and zero point 0, so it only clamps. Ids that
 *   index an embedding clamp to [−rows − 1, rows] (every valid index passes
 *   unchanged, every invalid one stays invalid and is an error in the gather);
 *   other integer inputs (a 0/1 mask) clamp to int8, and their Cast to float
 *   is the identity on those integers, so what follows is a table of them.
 * - An embedding, Gather or com.microsoft GatherBlockQuantized of a constant
 *   table by integer ids, becomes a `gather` of output codes:
 *     T[r, j] = Q_y(W[r, j]),  W the table as the QDQ model dequantizes it
 *   (numerics/gather.ts blockDequantizeRows for GatherBlockQuantized), so each
 *   gathered row is exactly the fake-quantized model's.
 * - A Gather or GatherBlockQuantized of constants (position ids from a folded
 *   Range, token type ids from a folded ConstantOfShape) is folded to a float
 *   constant first (`foldConstantGathers`); Add then adds it (lower-addconst.ts).
 *   So is an Identity of a constant (a norm's γ shared between layers).
 * - A Gather of an activation by constant indices that form one increasing
 *   run (the CLS token x[:, 0]) is a `slice`, then a reshape when the index is
 *   a scalar (the axis goes). Quantization commutes with it. So is a Slice of
 *   one axis with constant bounds and step 1.
 */
import { attrInt } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { blockDequantizeRows } from "../numerics/gather.js";
import { quantizeValue } from "../numerics/int-group.js";
import { narrowestIntType } from "../quant/format-annotation.js";
import { MASK_SPEC } from "./lower-key-mask.js";
import { type ActSpec, type LoweringContext, label } from "./lowering-context.js";

const GATHERS = new Set(["Gather", "GatherBlockQuantized"]);
/** Ops that only relabel the dims of a constant. */
const RESHAPES = new Set(["Identity", "Unsqueeze", "Squeeze", "Reshape", "Flatten"]);

/** The int8 clamp of an integer input that no embedding reads (a mask). */
const SMALL_INPUT: readonly [number, number] = [-128, 127];

function isGather(n: Node): boolean {
  return GATHERS.has(n.opType) && (n.domain ?? "") === (n.opType === "Gather" ? "" : "com.microsoft");
}

/** A constant table [rows, width] as the QDQ model reads it (float32 values), or undefined when `n` does not gather rows of one. */
function constantTable(consts: ReadonlyMap<string, Tensor>, n: Node): { rows: number; width: number; values: Float32Array } | undefined {
  const data = consts.get(n.inputs[0] ?? "");
  if (data?.dims.length !== 2) return undefined;
  const [rows, width] = data.dims as [number, number];
  if (n.opType === "Gather") {
    if (attrInt(n, "axis", 0) !== 0 || data.dtype !== DataType.FLOAT) return undefined;
    return { rows, width, values: Float32Array.from(tensorToFloat64(data)) };
  }
  const block = attrInt(n, "block_size", 128);
  const axis = attrInt(n, "quantize_axis", 1);
  const scales = consts.get(n.inputs[2] ?? "");
  const zeros = consts.get(n.inputs[3] ?? "");
  if (attrInt(n, "gather_axis", 0) !== 0 || (axis !== 1 && axis !== -1) || attrInt(n, "bits", 4) !== 8 || data.dtype !== DataType.UINT8 || !scales || !zeros) return undefined;
  return { rows, width, values: blockDequantizeRows(tensorToFloat64(data), tensorToFloat64(zeros), tensorToFloat64(scales), rows, width, block) };
}

/** Every Gather / GatherBlockQuantized whose table and indices are both constant becomes a float constant (see the file comment), and every Identity, Unsqueeze, … of a constant a copy of it. */
export function foldConstantGathers(g: Graph): Graph {
  const consts = constantTensors(g);
  const types = inferTypes(g);
  const folded: Tensor[] = [];
  const nodes = g.nodes.filter((n) => {
    const c = RESHAPES.has(n.opType) && (n.domain ?? "") === "" ? consts.get(n.inputs[0] ?? "") : undefined;
    const dims = types.get(n.outputs[0] ?? "")?.shape;
    if (c?.raw && dims?.every((d) => typeof d === "number")) {
      // exports share one norm's γ/β through Identity nodes; position ids are unsqueezed
      const t = { ...c, name: n.outputs[0]!, dims: dims as number[] };
      folded.push(t);
      consts.set(t.name, t);
      return false;
    }
    if (!isGather(n)) return true;
    const idx = consts.get(n.inputs[1] ?? "");
    const table = idx ? constantTable(consts, n) : undefined;
    if (!idx || !table) return true;
    const ids = tensorToFloat64(idx);
    const out = new Float32Array(ids.length * table.width);
    ids.forEach((v, i) => {
      const r = v < 0 ? v + table.rows : v;
      if (!(r >= 0 && r < table.rows)) throw new FixqError("model", `${label(n)}: constant index ${v} is outside [${-table.rows}, ${table.rows})`);
      out.set(table.values.subarray(r * table.width, (r + 1) * table.width), i * table.width);
    });
    const t = makeFloatTensor(n.outputs[0]!, [...idx.dims, table.width], out);
    folded.push(t);
    consts.set(t.name!, t);
    return false;
  });
  if (folded.length === 0) return g;
  const read = new Set(nodes.flatMap((n) => n.inputs));
  return { ...g, nodes, initializers: [...g.initializers, ...folded.filter((t) => read.has(t.name!) || g.outputs.some((o) => o.name === t.name))], inferred: undefined };
}

/** Whether graph input `name` is an integer tensor (ids, a mask). */
export function isIntegerInput(ctx: LoweringContext, name: string): boolean {
  const t = ctx.types.get(name)?.dtype;
  return t === DataType.INT64 || t === DataType.INT32 || (t === DataType.BOOL && ctx.maskInputs.has(name));
}

/** The clamp of an integer graph input (see the file comment). */
function integerInputSpec(ctx: LoweringContext, name: string): ActSpec {
  if (ctx.maskInputs.has(name)) return MASK_SPEC;
  let rows = 0;
  for (const r of ctx.readers.get(name) ?? []) {
    const table = isGather(r) && r.inputs[1] === name ? constantTable(ctx.consts, r) : undefined;
    if (table) rows = Math.max(rows, table.rows);
  }
  const [lo, hi] = rows > 0 ? [-rows - 1, rows] : SMALL_INPUT;
  if (hi > 2 ** 24) throw new FixqError("unsupported", `cannot integerize: input '${name}' indexes a table of ${rows} rows; integer inputs are limited to 2^24`);
  return { scale: 1, zeroPoint: 0, qmin: lo, qmax: hi, type: narrowestIntType(lo, hi, true) };
}

/** Lowers integer graph input `name` (shape per sample): a clamping `quantize` of scale 1. */
export function quantizeIntegerInput(ctx: LoweringContext, name: string, shape: readonly number[]): void {
  const spec = integerInputSpec(ctx, name);
  const out = ctx.addValue(`${name}_q`, shape, spec.type, spec);
  ctx.ops.push({ kind: "quantize", source: `input '${name}'`, input: name, output: out, scale: 1, zeroPoint: 0, qmin: spec.qmin, qmax: spec.qmax });
  ctx.lowered.set(name, out);
}

/** Cast to a float or integer type of an integer-valued input (scale 1, zero point 0): the same integers. */
export function lowerCast(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const s = ctx.specOfInt(x);
  const to = attrInt(n, "to", 0);
  if (s.scale !== 1 || s.zeroPoint !== 0 || !([DataType.FLOAT, DataType.INT64, DataType.INT32] as number[]).includes(to)) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} casts a quantized activation; integer code casts only integer inputs (ids, masks)`);
  }
  ctx.lowered.set(n.outputs[0]!, x);
}

/** Gather / GatherBlockQuantized: an embedding lookup by integer ids, or a slice of an activation by constant indices. */
export function lowerGather(ctx: LoweringContext, n: Node): void {
  const table = constantTable(ctx.consts, n);
  if (table && ctx.lowered.has(n.inputs[1]!)) lowerEmbedding(ctx, n, table);
  else if (n.opType === "Gather" && ctx.consts.has(n.inputs[1]!) && ctx.lowered.has(n.inputs[0]!)) lowerTake(ctx, n);
  else {
    throw new FixqError(
    "unsupported",
      `cannot integerize: ${label(n)} is neither an embedding (a constant 2-D table, GatherBlockQuantized with 8-bit codes, by integer ids) nor a selection of an activation by constant indices`,
    );
  }
}

function lowerEmbedding(ctx: LoweringContext, n: Node, table: { rows: number; width: number; values: Float32Array }): void {
  const ids = ctx.intInput(n.inputs[1]!, n);
  const where = label(n);
  const spec = ctx.actSpec(n.outputs[0]!, where);
  if (!spec) throw new FixqError("unsupported", `not fully quantized: the output '${n.outputs[0]}' of ${where} has no integer quantization spec`);
  const codes = Int32Array.from(table.values, (v) => quantizeValue(v, spec.scale, spec.zeroPoint, spec.qmin, spec.qmax));
  const shape = [...ctx.values.get(ids)!.shape, table.width];
  const out = ctx.addValue(`${n.outputs[0]}_q`, shape, spec.type, spec);
  ctx.ops.push({ kind: "gather", source: where, input: ids, output: out, table: codes, rows: table.rows, width: table.width });
  ctx.lowered.set(n.outputs[0]!, out);
}

function lowerTake(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const where = label(n);
  const inShape = ctx.values.get(x)!.shape;
  const idxT = ctx.consts.get(n.inputs[1]!)!;
  let axis = attrInt(n, "axis", 0);
  if (axis < 0) axis += inShape.length + 1;
  if (axis === 0) throw new FixqError("unsupported", `cannot integerize: ${where} gathers along the batch axis`);
  const L = inShape[axis - 1]!;
  const idx = [...tensorToFloat64(idxT)].map((i) => (i < 0 ? i + L : i));
  if (idx.length === 0 || idx.some((i, k) => i !== idx[0]! + k || i < 0 || i >= L) || idxT.dims.length > 1) {
    throw new FixqError("unsupported", `cannot integerize: ${where} gathers indices [${idx}] of ${L}; integer code takes one increasing run of constant indices`);
  }
  const start = idx[0]!;
  const end = start + idx.length;
  const sliced = inShape.map((d, i) => (i === axis - 1 ? end - start : d));
  const out = ctx.addValue(`${n.outputs[0]}_q`, sliced, xs.type, xs);
  ctx.ops.push({ kind: "slice", source: where, input: x, output: out, axis: axis - 1, start, end });
  let result = out;
  if (idxT.dims.length === 0) {
    result = ctx.addValue(`${n.outputs[0]}_q`, ctx.sampleShape(n.outputs[0]!, where), xs.type, xs);
    ctx.ops.push({ kind: "reshape", source: where, input: out, output: result });
  }
  const spec = ctx.actSpec(n.outputs[0]!, where);
  if (spec && (spec.scale !== xs.scale || spec.zeroPoint !== xs.zeroPoint || spec.type.bits !== xs.type.bits)) {
    throw new FixqError("unsupported", `cannot integerize: ${where} changes the quantization of what it selects`);
  }
  ctx.lowered.set(n.outputs[0]!, result);
}

/** ONNX Slice of an activation with constant starts, ends and axes along one per-sample axis, step 1: a `slice`. */
export function lowerSlice(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const where = label(n);
  const inShape = ctx.values.get(x)!.shape;
  const konst = (i: number) => (n.inputs[i] ? ctx.consts.get(n.inputs[i]!) : undefined);
  const [starts, ends, axesT, stepsT] = [1, 2, 3, 4].map((i) => konst(i));
  const axes = axesT ? [...tensorToFloat64(axesT)] : [0];
  const steps = stepsT ? [...tensorToFloat64(stepsT)] : [1];
  if (!starts || !ends || (n.inputs[3] && !axesT) || (n.inputs[4] && !stepsT) || axes.length !== 1 || steps[0] !== 1) {
    throw new FixqError("unsupported", `cannot integerize: ${where} is not a slice of one axis with constant bounds and step 1`);
  }
  const axis = axes[0]! < 0 ? axes[0]! + inShape.length + 1 : axes[0]!;
  if (axis < 1) throw new FixqError("unsupported", `cannot integerize: ${where} slices the batch axis`);
  const L = inShape[axis - 1]!;
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + L : v, 0), L);
  const start = clampIdx(tensorToFloat64(starts)[0]!);
  const end = clampIdx(tensorToFloat64(ends)[0]!);
  if (end <= start) throw new FixqError("unsupported", `cannot integerize: ${where} selects nothing`);
  const out = ctx.addValue(`${n.outputs[0]}_q`, inShape.map((d, i) => (i === axis - 1 ? end - start : d)), xs.type, xs);
  ctx.ops.push({ kind: "slice", source: where, input: x, output: out, axis: axis - 1, start, end });
  const spec = ctx.actSpec(n.outputs[0]!, where);
  if (spec && (spec.scale !== xs.scale || spec.zeroPoint !== xs.zeroPoint || spec.type.bits !== xs.type.bits)) {
    throw new FixqError("unsupported", `cannot integerize: ${where} changes the quantization of what it selects`);
  }
  ctx.lowered.set(n.outputs[0]!, out);
}

/** The spec a float LayerNormalization output takes when its only reader selects from it (Gather by constants) into a quantized value: the selection's. */
export function selectedSpec(ctx: LoweringContext, value: string): ActSpec | undefined {
  const r = ctx.soleReader(value);
  if (r?.opType !== "Gather" || r.inputs[0] !== value || !ctx.consts.has(r.inputs[1]!)) return undefined;
  return ctx.actSpec(r.outputs[0]!, label(r));
}
