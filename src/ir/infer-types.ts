/**
 * Shape and type inference for the common ops. Every value gets a dtype and a
 * shape; dims are numbers, symbolic names (kept from the model), or unknown.
 * Declared types (inputs, value_info, outputs) seed the table; rules derive the
 * rest node by node. Values no rule covers can be filled by `probeTypes`
 * (runtime.ts), which runs the model in onnxruntime on a sample input.
 */
import { attr, attrInt, attrInts } from "./attrs.js";
import { DataType } from "./dtype.js";
import type { Dim, Graph, Node, TensorType } from "./graph.js";
import { constValues, GATHER_RULES, MICROSOFT_RULES } from "./infer-gather.js";
import type { Tensor } from "./tensor.js";
import { tensorTypeOf } from "./types.js";

type Shape = readonly Dim[] | undefined;

/** Ranks above this are treated as unknown: no real tensor has them, and arrays are never sized by a file's claim. */
const MAX_RANK = 64;

/** Constant values known at compile time: initializers and Constant nodes. */
export function constantTensors(g: Graph): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const t of g.initializers) if (t.name) m.set(t.name, t);
  for (const n of g.nodes) {
    if (n.opType === "Constant" && (n.domain ?? "") === "" && n.outputs[0]) {
      const v = attr(n, "value");
      if (v?.t) m.set(n.outputs[0], v.t);
    }
  }
  return m;
}

/**
 * Numpy-style broadcast of two shapes, aligned at the right. Per axis: a 1
 * takes the other dim; equal dims stay; a known dim > 1 wins over a symbolic
 * or unknown one (the other must be 1 or equal, or the model is invalid);
 * otherwise the result is unknown. An axis missing from the shorter shape
 * counts as 1, an unknown dim does not (it may be any size).
 */
export function broadcast(a: Shape, b: Shape): Shape {
  if (!a || !b) return undefined;
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const ia = a.length - n + i;
    const ib = b.length - n + i;
    const x = ia < 0 ? 1 : a[ia];
    const y = ib < 0 ? 1 : b[ib];
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === "number" && typeof y !== "number") out.push(x);
    else if (typeof y === "number" && typeof x !== "number") out.push(y);
    else out.push(undefined);
  }
  return out;
}

function mul(a: Dim, b: Dim): Dim {
  return typeof a === "number" && typeof b === "number" ? a * b : undefined;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function poolShape(n: Node, x: Shape, channelsOut: Dim, kernel: readonly number[] | undefined): Shape {
  if (!x || !kernel) return undefined;
  const spatial = x.length - 2;
  const strides = attrInts(n, "strides") ?? new Array(spatial).fill(1);
  const dil = attrInts(n, "dilations") ?? new Array(spatial).fill(1);
  const pads = attrInts(n, "pads") ?? new Array(spatial * 2).fill(0);
  const autoPad = attr(n, "auto_pad")?.s ? Buffer.from(attr(n, "auto_pad")!.s!).toString() : "NOTSET";
  const ceil = attrInt(n, "ceil_mode", 0) === 1;
  const out: Dim[] = [x[0], channelsOut];
  for (let i = 0; i < spatial; i++) {
    const d = x[i + 2];
    if (typeof d !== "number") {
      out.push(undefined);
      continue;
    }
    const s = strides[i]!;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      out.push(Math.ceil(d / s));
      continue;
    }
    const padTotal = autoPad === "VALID" ? 0 : pads[i]! + pads[i + spatial]!;
    const eff = dil[i]! * (kernel[i]! - 1) + 1;
    const v = (d + padTotal - eff) / s;
    out.push((ceil ? Math.ceil(v) : Math.floor(v)) + 1);
  }
  return out;
}

type Rule = (n: Node, ins: (TensorType | undefined)[], consts: Map<string, Tensor>) => (TensorType | undefined)[];

const same: Rule = (_n, ins) => [ins[0]];
const elementwise: Rule = (_n, ins) => {
  let shape: Shape = ins[0]?.shape;
  for (const t of ins.slice(1)) shape = broadcast(shape, t?.shape);
  return [ins[0] && { dtype: ins[0].dtype, shape }];
};
const compare: Rule = (n, ins) => [{ dtype: DataType.BOOL, shape: elementwise(n, ins, new Map())[0]?.shape }];

const rules: Record<string, Rule> = {
  Add: elementwise,
  Sub: elementwise,
  Mul: elementwise,
  Div: elementwise,
  Pow: (_n, ins) => [ins[0] && { dtype: ins[0].dtype, shape: broadcast(ins[0].shape, ins[1]?.shape) }],
  Max: elementwise,
  Min: elementwise,
  Sum: elementwise,
  Mean: elementwise,
  Where: (_n, ins) => [ins[1] && { dtype: ins[1].dtype, shape: broadcast(ins[0]?.shape, broadcast(ins[1].shape, ins[2]?.shape)) }],
  Equal: compare,
  Less: compare,
  Greater: compare,
  LessOrEqual: compare,
  GreaterOrEqual: compare,
  Not: same,
  And: compare,
  Or: compare,
  Relu: same,
  LeakyRelu: same,
  PRelu: same,
  Sigmoid: same,
  HardSigmoid: same,
  HardSwish: same,
  Tanh: same,
  Erf: same,
  Gelu: same,
  Exp: same,
  Log: same,
  Sqrt: same,
  Reciprocal: same,
  Neg: same,
  Abs: same,
  Floor: same,
  Ceil: same,
  Round: same,
  Sin: same,
  Cos: same,
  Softplus: same,
  Elu: same,
  Selu: same,
  Clip: same,
  Softmax: same,
  LogSoftmax: same,
  Identity: same,
  Dropout: (_n, ins) => [ins[0], ins[0] && { dtype: DataType.BOOL, shape: ins[0].shape }],
  BatchNormalization: same,
  InstanceNormalization: same,
  RMSNormalization: same,
  LayerNormalization: (n, ins) => {
    const x = ins[0];
    const axis = x?.shape ? normAxis(attrInt(n, "axis", -1), x.shape.length) : undefined;
    const stat = x?.shape && axis !== undefined ? { dtype: DataType.FLOAT, shape: x.shape.map((d, i) => (i < axis ? d : 1)) } : undefined;
    return [x, stat, stat];
  },
  Cast: (n, ins) => [{ dtype: attrInt(n, "to", 0), shape: ins[0]?.shape }],
  Shape: (_n, ins) => [{ dtype: DataType.INT64, shape: [ins[0]?.shape?.length] }],
  Size: () => [{ dtype: DataType.INT64, shape: [] }],
  QuantizeLinear: (n, ins) => [{ dtype: attrInt(n, "output_dtype", 0) || (ins[2]?.dtype ?? DataType.UINT8), shape: ins[0]?.shape }],
  DequantizeLinear: (_n, ins) => [{ dtype: ins[1]?.dtype ?? DataType.FLOAT, shape: ins[0]?.shape }],
  Conv: (n, ins) => {
    const w = ins[1]?.shape;
    const kernel = attrInts(n, "kernel_shape") ?? (w?.slice(2).every((d) => typeof d === "number") ? (w.slice(2) as number[]) : undefined);
    return [ins[0] && { dtype: ins[0].dtype, shape: poolShape(n, ins[0].shape, w?.[0], kernel) }];
  },
  MaxPool: (n, ins) => {
    const t = ins[0] && { dtype: ins[0].dtype, shape: poolShape(n, ins[0].shape, ins[0].shape?.[1], attrInts(n, "kernel_shape")) };
    return [t, t && { dtype: DataType.INT64, shape: t.shape }];
  },
  AveragePool: (n, ins) => [ins[0] && { dtype: ins[0].dtype, shape: poolShape(n, ins[0].shape, ins[0].shape?.[1], attrInts(n, "kernel_shape")) }],
  GlobalAveragePool: (_n, ins) => [ins[0] && { dtype: ins[0].dtype, shape: ins[0].shape?.map((d, i) => (i < 2 ? d : 1)) }],
  GlobalMaxPool: (_n, ins) => [ins[0] && { dtype: ins[0].dtype, shape: ins[0].shape?.map((d, i) => (i < 2 ? d : 1)) }],
  Gemm: (n, ins) => {
    const a = ins[0]?.shape;
    const b = ins[1]?.shape;
    const m = a ? (attrInt(n, "transA", 0) ? a[1] : a[0]) : undefined;
    const k = b ? (attrInt(n, "transB", 0) ? b[0] : b[1]) : undefined;
    // rank > 2 only in per-sample graphs (passes/sample-axis.ts): the leading axes are kept, the last one multiplied
    if (a && a.length > 2 && !attrInt(n, "transA", 0)) return [ins[0] && { dtype: ins[0].dtype, shape: [...a.slice(0, -1), k] }];
    return [ins[0] && { dtype: ins[0].dtype, shape: [m, k] }];
  },
  MatMul: (_n, ins) => {
    const a = ins[0]?.shape;
    const b = ins[1]?.shape;
    if (!a || !b || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: undefined }];
    const a2 = a.length === 1 ? [1, a[0]] : a;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2)) ?? [];
    const shape: Dim[] = [...batch];
    if (a.length > 1) shape.push(a2[a2.length - 2]);
    if (b.length > 1) shape.push(b2[b2.length - 1]);
    return [{ dtype: ins[0].dtype, shape }];
  },
  Flatten: (n, ins) => {
    const x = ins[0]?.shape;
    if (!x || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: [undefined, undefined] }];
    const axis = normAxis(attrInt(n, "axis", 1), x.length);
    // A product keeps a symbolic dim when every other factor is 1.
    const prod = (ds: readonly Dim[]) => {
      const rest = ds.filter((d) => d !== 1);
      return rest.length === 1 ? rest[0] : rest.reduce<Dim>((p, d) => mul(p, d), 1);
    };
    return [{ dtype: ins[0].dtype, shape: [prod(x.slice(0, axis)), prod(x.slice(axis))] }];
  },
  Transpose: (n, ins) => {
    const x = ins[0]?.shape;
    const perm = attrInts(n, "perm") ?? x?.map((_d, i) => x.length - 1 - i);
    return [ins[0] && { dtype: ins[0].dtype, shape: x && perm ? perm.map((p) => x[p]) : undefined }];
  },
  // Expand broadcasts its input and the target shape by numpy's rules
  Expand: (n, ins, consts) => {
    const target = constValues(n.inputs[1], consts);
    return [ins[0] && { dtype: ins[0].dtype, shape: target && target.length <= MAX_RANK ? broadcast(ins[0].shape, target) : undefined }];
  },
  Reshape: (n, ins, consts) => {
    const target = constValues(n.inputs[1], consts);
    const x = ins[0]?.shape;
    if (!ins[0]) return [undefined];
    if (!target) {
      // The rank is the shape input's length, when that is declared and sane (never size an array by a file's claim).
      const rank = ins[1]?.shape?.[0];
      return [{ dtype: ins[0].dtype, shape: typeof rank === "number" && rank <= MAX_RANK ? new Array<Dim>(rank).fill(undefined) : undefined }];
    }
    const allowZero = attrInt(n, "allowzero", 0) === 1;
    const shape: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? x?.[i] : d === -1 ? undefined : d));
    const inferIdx = target.indexOf(-1);
    if (inferIdx >= 0 && x && x.every((d) => typeof d === "number")) {
      const total = (x as number[]).reduce((a, b) => a * b, 1);
      const known = shape.reduce<number>((p, d, i) => (i === inferIdx ? p : typeof d === "number" ? p * d : Number.NaN), 1);
      if (Number.isFinite(known) && known > 0) shape[inferIdx] = total / known;
    }
    return [{ dtype: ins[0].dtype, shape }];
  },
  Concat: (n, ins) => {
    const first = ins.find((t) => t?.shape);
    if (!first?.shape || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: undefined }];
    const axis = normAxis(attrInt(n, "axis", 0), first.shape.length);
    const shape = [...first.shape];
    shape[axis] = ins.reduce<Dim>((s, t) => (typeof s === "number" && typeof t?.shape?.[axis] === "number" ? s + (t.shape[axis] as number) : undefined), 0);
    return [{ dtype: ins[0].dtype, shape }];
  },
  Unsqueeze: (n, ins, consts) => {
    const x = ins[0]?.shape;
    const axes = attrInts(n, "axes") ?? constValues(n.inputs[1], consts);
    if (!x || !axes || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: undefined }];
    const rank = x.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x[k++]);
    return [{ dtype: ins[0].dtype, shape }];
  },
  Squeeze: (n, ins, consts) => {
    const x = ins[0]?.shape;
    const axes = attrInts(n, "axes") ?? constValues(n.inputs[1], consts);
    if (!x || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: undefined }];
    const set = new Set((axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x.length)));
    return [{ dtype: ins[0].dtype, shape: x.filter((_d, i) => !set.has(i)) }];
  },
  ReduceMean: (n, ins, consts) => {
    const x = ins[0]?.shape;
    const axes = attrInts(n, "axes") ?? constValues(n.inputs[1], consts);
    const keep = attrInt(n, "keepdims", 1) === 1;
    if (!x || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: undefined }];
    const set = new Set((axes ?? x.map((_d, i) => i)).map((a) => normAxis(a, x.length)));
    const shape = keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_d, i) => !set.has(i));
    return [{ dtype: ins[0].dtype, shape }];
  },
};
Object.assign(rules, GATHER_RULES);
rules["ReduceSum"] = rules["ReduceMean"]!;
rules["ReduceMax"] = rules["ReduceMean"]!;
rules["ReduceMin"] = rules["ReduceMean"]!;
/**
 * Resize (opset 11+: X, roi, scales, sizes; opset 10 and Upsample: X, scales):
 * out[i] = sizes[i], or floor(in[i] · scales[i]) in float32 as ONNX Runtime
 * computes it (roi only matters for
 * tf_crop_and_resize, which is left unknown). Needs constant scales/sizes.
 */
const resize: Rule = (n, ins, consts) => {
  const x = ins[0];
  if (!x) return [undefined];
  const two = n.inputs.length === 2;
  const scales = constValues(two ? n.inputs[1] : n.inputs[2], consts);
  const sizes = two ? undefined : constValues(n.inputs[3], consts);
  const mode = attr(n, "coordinate_transformation_mode")?.s;
  const crop = mode !== undefined && Buffer.from(mode).toString() === "tf_crop_and_resize";
  const rank = x.shape?.length;
  let shape: Shape;
  if (sizes?.length && sizes.length === rank && !attr(n, "axes")) shape = sizes;
  else if (scales?.length && scales.length === rank && !crop && !attr(n, "axes")) {
    shape = x.shape!.map((d, i) => (scales[i] === 1 ? d : typeof d === "number" ? Math.floor(Math.fround(Math.fround(d) * Math.fround(scales[i]!))) : undefined));
  }
  return [{ dtype: x.dtype, shape }];
};
rules["Resize"] = resize;
rules["Upsample"] = resize;
rules["ConvTranspose"] = (n, ins) => {
  const x = ins[0]?.shape;
  const w = ins[1]?.shape;
  if (!x || !w || !ins[0]) return [ins[0] && { dtype: ins[0].dtype, shape: undefined }];
  const group = attrInt(n, "group", 1);
  const spatial = x.length - 2;
  const outShape = attrInts(n, "output_shape");
  const strides = attrInts(n, "strides") ?? new Array(spatial).fill(1);
  const pads = attrInts(n, "pads") ?? new Array(spatial * 2).fill(0);
  const dil = attrInts(n, "dilations") ?? new Array(spatial).fill(1);
  const outPad = attrInts(n, "output_padding") ?? new Array(spatial).fill(0);
  const kernel = attrInts(n, "kernel_shape") ?? w.slice(2);
  const shape: Dim[] = [x[0], mul(w[1], group)];
  for (let i = 0; i < spatial; i++) {
    const d = x[i + 2];
    const k = kernel[i];
    if (outShape) shape.push(outShape[i]);
    else if (typeof d === "number" && typeof k === "number")
      shape.push(strides[i]! * (d - 1) + outPad[i]! + ((k - 1) * dil[i]! + 1) - pads[i]! - pads[i + spatial]!);
    else shape.push(undefined);
  }
  return [{ dtype: ins[0].dtype, shape }];
};

/**
 * Infers tensor types for every value of `g` (not descending into subgraphs).
 * `outer` supplies types of values visible from an enclosing graph.
 */
export function inferTypes(g: Graph, outer?: ReadonlyMap<string, TensorType>): Map<string, TensorType> {
  const types = new Map<string, TensorType>(outer);
  for (const t of g.initializers) if (t.name) types.set(t.name, { dtype: t.dtype, shape: t.dims });
  for (const v of [...g.inputs, ...g.valueInfo, ...g.outputs]) {
    const tt = tensorTypeOf(v.type);
    if (tt && !types.has(v.name)) types.set(v.name, tt);
  }
  const consts = constantTensors(g);
  for (const n of g.nodes) {
    if (n.opType === "Constant" && n.outputs[0]) {
      const t = consts.get(n.outputs[0]);
      if (t) types.set(n.outputs[0], { dtype: t.dtype, shape: t.dims });
      continue;
    }
    const rule = (n.domain ?? "") === "" || n.domain === "ai.onnx" ? rules[n.opType] : n.domain === "com.microsoft" ? MICROSOFT_RULES[n.opType] : undefined;
    if (!rule) continue;
    const ins = n.inputs.map((name) => (name ? types.get(name) : undefined));
    let outs: (TensorType | undefined)[];
    try {
      outs = rule(n, ins, consts);
    } catch {
      continue; // malformed attributes: leave these values to probing
    }
    n.outputs.forEach((name, i) => {
      const t = outs[i];
      const declared = types.get(name);
      if (!name || !t?.dtype) return;
      if (!declared) types.set(name, t);
      else if (!declared.shape && t.shape) types.set(name, { dtype: declared.dtype, shape: t.shape });
    });
  }
  return types;
}

/** Values of `g` that have no inferred type. */
export function untypedValues(g: Graph, types: ReadonlyMap<string, TensorType>): string[] {
  const out: string[] = [];
  for (const n of g.nodes) for (const o of n.outputs) if (o && !types.has(o)) out.push(o);
  return out;
}
