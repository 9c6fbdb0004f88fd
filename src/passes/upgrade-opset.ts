/**
 * upgradeOpset: a version-conversion pass. Raises the default-domain ("" or
 * "ai.onnx") opset of a model to `target` and rewrites every node whose
 * signature or semantics changed between the model's opset and the target, in
 * the main graph and in every subgraph (If/Loop/Scan bodies use the model's
 * opset). Other domains are left alone.
 *
 * How it works: `STEPS` lists, per op, the opset versions at which its schema
 * changed in a way an old node cannot simply carry over (an attribute became an
 * input, a default or a meaning changed, the op was removed). A node of a model
 * at opset `from` goes through the steps with from < version <= target, in
 * order. A step returns the node in its new form and may rename the op
 * (Upsample → Resize), add nodes before or after it (Softmax's Flatten/Reshape),
 * or refuse. Versions that only widen type constraints, or add attributes and
 * optional inputs whose defaults keep the old behaviour, need no step. An op
 * fixq does not know is refused rather than guessed at.
 *
 * Attributes that became inputs become initializers with fresh names (never
 * colliding with any value name in the model). The default-domain opset import
 * is set to `target` and `irVersion` raised to what the target needs.
 *
 * Refusals are FixqError("unsupported", "cannot upgrade <Op> from opset X to Y: why",
 * "node '<name>'"); the pass never returns a model it could not convert faithfully.
 *
 * Behaviour notes:
 * - Clip 6 → 11: absent min/max become absent inputs (no clipping) rather than
 *   ±FLT_MAX, so ±inf inputs now pass through unchanged; finite values agree.
 * - Resize 10 (and Upsample) → 11: asymmetric coordinates; nearest rounds down
 *   when upsampling and up when downsampling, as onnxruntime's opset-10 kernel
 *   does. Scales that are not constants are taken to upsample (Upsample requires it).
 * - PRelu before 7: a 1-D slope of length > 1 on an input of rank ≥ 3 is the
 *   per-channel slope and is reshaped to [C, 1, …, 1].
 * - Training-only outputs (Dropout mask before 10, BatchNormalization's running
 *   and saved statistics before 14) are dropped when nothing reads them, and
 *   refused otherwise.
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { type Attribute, AttrType, type Graph, type Int64, type Model, type Node, nodeLabel, type TensorType, walkGraphs } from "../ir/graph.js";
import { attr, attrFloat, attrFloats, attrInt, attrInt64s, attrString, isDefaultDomain } from "../ir/attrs.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { uniqueNamer } from "../ir/names.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { encodeFloats } from "../numerics/float-codec.js";
import { floatFormat } from "../numerics/float-formats.js";

/** The highest target whose schema changes fixq knows. */
export const MAX_UPGRADE_OPSET = 23;

/** IR version each opset needs (ONNX's versioning table). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

// ───────────────────────────── node helpers ─────────────────────────────

const intAttr = (name: string, i: number): Attribute => ({ name, type: AttrType.INT, i });
const intsAttr = (name: string, ints: readonly Int64[]): Attribute => ({ name, type: AttrType.INTS, ints });
const floatsAttr = (name: string, floats: readonly number[]): Attribute => ({ name, type: AttrType.FLOATS, floats });
const stringAttr = (name: string, s: string): Attribute => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) });

/** `n` without the named attributes (the same object when it has none of them). */
function without(n: Node, ...names: string[]): Node {
  if (!n.attributes.some((a) => names.includes(a.name))) return n;
  return { ...n, attributes: n.attributes.filter((a) => !names.includes(a.name)) };
}
/** `n` with attribute `a` set (replacing one of the same name). */
function withAttr(n: Node, a: Attribute): Node {
  const i = n.attributes.findIndex((x) => x.name === a.name);
  const attributes = [...n.attributes];
  if (i >= 0) attributes[i] = a;
  else attributes.push(a);
  return { ...n, attributes };
}
/** `n` with these inputs; trailing empty (omitted optional) inputs are trimmed. */
function withInputs(n: Node, inputs: readonly string[]): Node {
  const trimmed = [...inputs];
  while (trimmed.length > 0 && trimmed[trimmed.length - 1] === "") trimmed.pop();
  return { ...n, inputs: trimmed };
}

// ───────────────────────────── tensor helpers ─────────────────────────────

function int64Tensor(dims: readonly number[], values: readonly Int64[]): Tensor {
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => {
    dv.setBigInt64(i * 8, BigInt(v), true);
  });
  return { dtype: DataType.INT64, dims: [...dims], raw };
}

/** IEEE half-precision bits of each value (ONNX Cast float → float16: nearest, ties to even, overflow to ±Inf; the values are float32 attributes or constants, so rounding through float32 first is exact). */
function halfBits(values: readonly number[]): Uint16Array {
  return encodeFloats(floatFormat("fp16"), Float32Array.from(values)) as Uint16Array;
}

/** A tensor of a float element type (f32, f64, f16); undefined for other types. */
function floatTensorOf(dtype: number, dims: readonly number[], values: readonly number[]): Tensor | undefined {
  switch (dtype) {
    case DataType.FLOAT:
      return makeFloatTensor("", dims, values);
    case DataType.DOUBLE:
      return { dtype, dims: [...dims], raw: new Uint8Array(Float64Array.from(values).buffer) };
    case DataType.FLOAT16:
      return { dtype, dims: [...dims], raw: new Uint8Array(halfBits(values).buffer) };
    default:
      return undefined;
  }
}

// ───────────────────────────── the rewrite context ─────────────────────────────

/** What a step can see and do while rewriting one node. */
interface Rewrite {
  readonly from: number;
  readonly to: number;
  type(value: string): TensorType | undefined;
  /** The constant (initializer or Constant output, here or in an enclosing graph) named `value`. */
  constant(value: string): Tensor | undefined;
  /** True when some node or graph output reads `value`. */
  used(value: string): boolean;
  /** A value name not used anywhere in the model. */
  fresh(base: string): string;
  /** A node name for a helper node derived from this one (undefined when the node has no name). */
  nodeName(suffix: string): string | undefined;
  /** Adds an initializer named after `base` and returns its name. */
  initializer(base: string, t: Tensor): string;
  /** Emits a node that runs before the rewritten node. */
  before(n: Node): void;
  /** Emits a node that runs after the rewritten node (and after nodes emitted by later steps). */
  after(n: Node): void;
  /** Notes that an output value no longer exists (its value_info is dropped). */
  dropOutput(value: string): void;
  /** The error refusing this node (callers throw it). */
  refuse(why: string): FixqError;
}

type Step = (n: Node, rw: Rewrite) => Node;

/** A name prefix for values derived from `n`. */
function baseOf(n: Node): string {
  return n.name || n.outputs[0] || n.opType;
}

function rankOf(rw: Rewrite, value: string): number | undefined {
  return rw.type(value)?.shape?.length;
}

/** Name of a new int64 initializer holding `values` (1-D, or the given dims). */
function int64Input(rw: Rewrite, n: Node, role: string, values: readonly Int64[], dims: readonly number[] = [values.length]): string {
  return rw.initializer(`${baseOf(n)}_${role}`, int64Tensor(dims, values));
}

/** Name of a new initializer of `value`'s element type, which must be a float type (a scalar unless `dims` say otherwise). */
function constantLike(rw: Rewrite, n: Node, role: string, value: string, values: readonly number[], dims: readonly number[] = []): string {
  const dtype = rw.type(value)?.dtype;
  if (dtype === undefined) throw rw.refuse(`the element type of '${value}' is unknown, so ${role} cannot become an input`);
  const t = floatTensorOf(dtype, dims, values);
  if (!t) throw rw.refuse(`${role} on a non-float input`);
  return rw.initializer(`${baseOf(n)}_${role}`, t);
}

/** An Unsqueeze of `x` at `axes` in the target opset's form; returns the new value. */
function emitUnsqueeze(rw: Rewrite, n: Node, x: string, axes: readonly number[]): string {
  const out = rw.fresh(`${x}_unsqueezed`);
  const node: Node =
    rw.to >= 13
      ? { name: rw.nodeName("unsqueeze"), opType: "Unsqueeze", inputs: [x, int64Input(rw, n, "axes", axes)], outputs: [out], attributes: [] }
      : { name: rw.nodeName("unsqueeze"), opType: "Unsqueeze", inputs: [x], outputs: [out], attributes: [intsAttr("axes", axes)] };
  rw.before(node);
  return out;
}

/** `value` with `trailing` size-1 dims appended: a reshaped initializer when it is constant, else an Unsqueeze. */
function appendOnes(rw: Rewrite, n: Node, value: string, rank: number, trailing: number): string {
  const c = rw.constant(value);
  const ones = new Array<number>(trailing).fill(1);
  if (c) return rw.initializer(`${value}_reshaped`, { ...c, dims: [...c.dims, ...ones] });
  return emitUnsqueeze(
    rw,
    n,
    value,
    ones.map((_o, i) => rank + i),
  );
}

// ───────────────────────────── steps ─────────────────────────────

const drop =
  (...names: string[]): Step =>
  (n) =>
    without(n, ...names);

const refuse =
  (why: string): Step =>
  (_n, rw) => {
    throw rw.refuse(why);
  };

/** An attribute that became an int64 input at position `index` (omitted when the attribute is absent). */
const intsToInput =
  (name: string, index: number): Step =>
  (n, rw) => {
    const v = attrInt64s(n, name);
    if (!v) return n;
    if (n.inputs.length > index && n.inputs[index]) throw rw.refuse(`it has both a '${name}' attribute and input`);
    const inputs = [...n.inputs];
    while (inputs.length < index) inputs.push("");
    inputs[index] = int64Input(rw, n, name, v);
    return withInputs(without(n, name), inputs);
  };

/** Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less before 7: `broadcast` with `axis` aligns B at `axis` of A. */
const legacyBroadcast: Step = (n, rw) => {
  const axis = attrInt(n, "axis");
  const out = without(n, "broadcast", "axis");
  if (attrInt(n, "broadcast") !== 1 || axis === undefined) return out; // suffix alignment is numpy's
  const [a = "", b = ""] = n.inputs;
  const ra = rankOf(rw, a);
  const rb = rankOf(rw, b);
  if (ra === undefined || rb === undefined) throw rw.refuse("broadcast with an axis needs the ranks of both inputs");
  const trailing = ra - (axis < 0 ? axis + ra : axis) - rb;
  if (trailing < 0) throw rw.refuse(`B of rank ${rb} does not fit at axis ${axis} of A of rank ${ra}`);
  if (trailing === 0) return out;
  return withInputs(out, [a, appendOnes(rw, n, b, rb, trailing), ...n.inputs.slice(2)]);
};

/** PRelu before 7: a 1-D slope of length C > 1 is per channel (axis 1). */
const preluSlope: Step = (n, rw) => {
  const [x = "", slope = ""] = n.inputs;
  const dims = rw.constant(slope)?.dims ?? rw.type(slope)?.shape;
  if (!dims) throw rw.refuse("the slope's shape is unknown");
  if (dims.length !== 1 || dims[0] === 1) return n; // shared, or already laid out for numpy broadcasting
  const rx = rankOf(rw, x);
  if (rx === undefined) throw rw.refuse("the input's rank is unknown");
  if (rx < 3) return n;
  return withInputs(n, [x, appendOnes(rw, n, slope, 1, rx - 2)]);
};

const CAST1_TYPES: Record<string, number> = Object.fromEntries(Object.entries(DataType).filter(([k]) => k !== "UNDEFINED"));

/** Cast before 6: `to` was a type name. */
const castToInt: Step = (n, rw) => {
  const to = attr(n, "to");
  if (to?.s === undefined) return n;
  const code = CAST1_TYPES[new TextDecoder().decode(to.s).toUpperCase()];
  if (code === undefined) throw rw.refuse(`unknown type name in 'to'`);
  return withAttr(n, intAttr("to", code));
};

/** Concat before 4: `axis` defaulted to 1. */
const concatAxis: Step = (n) => (attr(n, "axis") ? n : withAttr(n, intAttr("axis", 1)));

/** Reshape 5: `shape` became an input. */
const reshapeShape: Step = (n, rw) => {
  const shape = attrInt64s(n, "shape");
  const out = without(n, "shape", "consumed_inputs");
  if (n.inputs.length >= 2) return out;
  if (!shape) throw rw.refuse("it has no shape");
  return withInputs(out, [n.inputs[0] ?? "", int64Input(rw, n, "shape", shape)]);
};

/** Optional outputs that later versions no longer have: dropped when unread, else refused. */
function dropUnreadOutputs(n: Node, rw: Rewrite, keep: number, what: string): Node {
  const extra = n.outputs.slice(keep).filter((o) => o !== "");
  if (extra.length === 0) return n.outputs.length > keep ? { ...n, outputs: n.outputs.slice(0, keep) } : n;
  const read = extra.filter((o) => rw.used(o));
  if (read.length > 0) throw rw.refuse(`${what} '${read[0]}' is used`);
  for (const o of extra) rw.dropOutput(o);
  return { ...n, outputs: n.outputs.slice(0, keep) };
}

/** Dropout 12: `ratio` became an input (float scalar). */
const dropoutRatio: Step = (n, rw) => {
  const ratio = attrFloat(n, "ratio");
  const out = without(n, "ratio");
  if (ratio === undefined) return out;
  const name = rw.initializer(`${baseOf(n)}_ratio`, floatTensorOf(DataType.FLOAT, [], [ratio])!);
  return withInputs(out, [n.inputs[0] ?? "", name]);
};

/** BatchNormalization 9: `spatial` dropped; only spatial=1 carries over. */
const bnSpatial: Step = (n, rw) => {
  if (attrInt(n, "spatial") === 0) throw rw.refuse("spatial=0 (per-activation statistics) has no counterpart");
  return without(n, "spatial");
};

/** Clip 11: `min`/`max` became inputs of the input's type. */
const clipInputs: Step = (n, rw) => {
  const min = attrFloat(n, "min");
  const max = attrFloat(n, "max");
  const out = without(n, "min", "max");
  const x = n.inputs[0] ?? "";
  if (min === undefined && max === undefined) return out;
  return withInputs(out, [x, min === undefined ? "" : constantLike(rw, n, "min", x, [min]), max === undefined ? "" : constantLike(rw, n, "max", x, [max])]);
};

/** Pad 2: `paddings` renamed `pads`. */
const padRename: Step = (n) => {
  const p = attrInt64s(n, "paddings");
  return p ? withAttr(without(n, "paddings"), intsAttr("pads", p)) : n;
};

/** Pad 11: `pads` and `value` became inputs. */
const padInputs: Step = (n, rw) => {
  const pads = attrInt64s(n, "pads");
  if (!pads) throw rw.refuse("it has no pads");
  const value = attrFloat(n, "value") ?? 0;
  const mode = attrString(n, "mode") ?? "constant";
  const x = n.inputs[0] ?? "";
  const constant = mode === "constant" && value !== 0 ? constantLike(rw, n, "constant_value", x, [value]) : "";
  return withInputs(without(n, "pads", "value"), [x, int64Input(rw, n, "pads", pads), constant]);
};

/** Slice 10: `starts`, `ends`, `axes` became inputs. */
const sliceInputs: Step = (n, rw) => {
  const starts = attrInt64s(n, "starts");
  const ends = attrInt64s(n, "ends");
  if (!starts || !ends) throw rw.refuse("it has no starts/ends");
  const axes = attrInt64s(n, "axes");
  const inputs = [n.inputs[0] ?? "", int64Input(rw, n, "starts", starts), int64Input(rw, n, "ends", ends)];
  if (axes) inputs.push(int64Input(rw, n, "axes", axes));
  return withInputs(without(n, "starts", "ends", "axes"), inputs);
};

/** TopK 10: `k` became a 1-element int64 input. */
const topkInput: Step = (n, rw) => {
  const k = attr(n, "k")?.i;
  if (k === undefined) throw rw.refuse("it has no k");
  return withInputs(without(n, "k"), [n.inputs[0] ?? "", int64Input(rw, n, "k", [k])]);
};

/** Split 2: the second input of Split-1 (split sizes) had to become the attribute again. */
const splitInputBack: Step = (n, rw) => {
  if (n.inputs.length > 1 && n.inputs[1] && rw.to < 13) throw rw.refuse("a split input is only valid from opset 13");
  return n;
};

/** Split 18: with no split sizes, `num_outputs` says how many equal parts. */
const splitNumOutputs: Step = (n) => (n.inputs[1] || attr(n, "num_outputs") ? n : withAttr(n, intAttr("num_outputs", n.outputs.length)));

/**
 * Softmax, LogSoftmax, Hardmax 13: they used to flatten the input to 2-D at
 * `axis` (default 1) and work on the second dim; now they work on one axis
 * (default -1). When every dim from `axis` on but one is 1, that one dim is the
 * new axis; otherwise Flatten, apply on axis 1, and Reshape back.
 */
const coercedTo2d: Step = (n, rw) => {
  const old = attrInt(n, "axis") ?? 1;
  const x = n.inputs[0] ?? "";
  const y = n.outputs[0] ?? "";
  const shape = rw.type(x)?.shape;
  if (shape) {
    const rank = shape.length;
    const a = old < 0 ? old + rank : old;
    if (a < 0 || a >= rank) throw rw.refuse(`axis ${old} is out of range for rank ${rank}`);
    const notOne = shape.map((d, i) => [d, i] as const).filter(([d, i]) => i >= a && d !== 1);
    if (rank > 0 && notOne.length <= 1) {
      const axis = notOne.length === 1 ? notOne[0]![1] : rank - 1;
      return withAttr(n, intAttr("axis", axis === rank - 1 ? -1 : axis));
    }
  }
  const flat = rw.fresh(`${x}_2d`);
  rw.before({ name: rw.nodeName("flatten"), opType: "Flatten", inputs: [x], outputs: [flat], attributes: [intAttr("axis", old)] });
  let target: string;
  if (shape?.every((d): d is number => typeof d === "number" && d > 0)) {
    target = int64Input(rw, n, "shape", shape);
  } else {
    target = rw.fresh(`${x}_shape`);
    rw.before({ name: rw.nodeName("shape"), opType: "Shape", inputs: [x], outputs: [target], attributes: [] });
  }
  const y2 = rw.fresh(`${y}_2d`);
  rw.after({ name: rw.nodeName("reshape"), opType: "Reshape", inputs: [y2, target], outputs: [y], attributes: [] });
  return { ...withAttr(n, intAttr("axis", -1)), inputs: [flat], outputs: [y2, ...n.outputs.slice(1)] };
};

/** Upsample 7: Upsample-1's `height_scale`/`width_scale` became `scales`; `bilinear` became `linear`. */
const upsampleScalesAttr: Step = (n) => {
  const h = attrFloat(n, "height_scale");
  const w = attrFloat(n, "width_scale");
  let out = without(n, "height_scale", "width_scale");
  if (h !== undefined || w !== undefined) out = withAttr(out, floatsAttr("scales", [1, 1, h ?? 1, w ?? 1]));
  return attrString(n, "mode") === "bilinear" ? withAttr(out, stringAttr("mode", "linear")) : out;
};

/** Upsample 9: `scales` became a float input. */
const upsampleScalesInput: Step = (n, rw) => {
  const scales = attrFloats(n, "scales");
  if (!scales) return n;
  const name = rw.initializer(`${baseOf(n)}_scales`, floatTensorOf(DataType.FLOAT, [scales.length], scales)!);
  return withInputs(without(n, "scales"), [n.inputs[0] ?? "", name]);
};

/** Upsample 10: deprecated; Resize-10 has the same inputs and meaning. */
const upsampleToResize: Step = (n) => ({ ...n, opType: "Resize" });

function constantValues(rw: Rewrite, value: string | undefined): number[] | undefined {
  const c = value ? rw.constant(value) : undefined;
  if (!c) return undefined;
  try {
    return Array.from(tensorToFloat64(c));
  } catch {
    return undefined;
  }
}

/** Resize 11: an roi input before scales; opset 10's coordinate mapping made explicit. */
const resizeRoi: Step = (n, rw) => {
  const mode = attrString(n, "mode") ?? "nearest";
  const [x = "", scales = ""] = n.inputs;
  const roi = rw.to >= 13 ? "" : rw.initializer(`${baseOf(n)}_roi`, floatTensorOf(DataType.FLOAT, [0], [])!);
  let out = withAttr(withInputs(n, [x, roi, scales]), stringAttr("coordinate_transformation_mode", "asymmetric"));
  if (mode === "nearest") {
    // onnxruntime's opset-10 nearest truncates the source coordinate when upsampling and rounds it up when downsampling.
    const s = constantValues(rw, scales) ?? [];
    const down = s.some((v) => v < 1);
    if (down && s.some((v) => v > 1)) throw rw.refuse("nearest with scales that both up- and downsample");
    out = withAttr(out, stringAttr("nearest_mode", down ? "ceil" : "floor"));
  } else if (mode !== "linear") {
    throw rw.refuse(`mode '${mode}'`);
  }
  return out;
};

/** Resize 13: `tf_half_pixel_for_nn` is gone; it is half_pixel shifted by half a pixel, which a nearest mode can absorb. */
const resizeTfHalfPixel: Step = (n, rw) => {
  if (attrString(n, "coordinate_transformation_mode") !== "tf_half_pixel_for_nn") return n;
  if ((attrString(n, "mode") ?? "nearest") !== "nearest") throw rw.refuse("tf_half_pixel_for_nn with a mode other than nearest");
  const shifted: Record<string, string> = { round_prefer_floor: "ceil", floor: "round_prefer_ceil" };
  const nearest = shifted[attrString(n, "nearest_mode") ?? "round_prefer_floor"];
  if (!nearest) throw rw.refuse(`tf_half_pixel_for_nn with nearest_mode '${attrString(n, "nearest_mode")}'`);
  return withAttr(withAttr(n, stringAttr("coordinate_transformation_mode", "half_pixel")), stringAttr("nearest_mode", nearest));
};

/** LpPool, GlobalLpPool 2: `p` became an integer. */
const lpPoolP: Step = (n, rw) => {
  const p = attr(n, "p");
  if (p?.f === undefined || p.type === AttrType.INT) return n;
  if (!Number.isInteger(p.f)) throw rw.refuse(`p=${p.f} is not an integer`);
  return withAttr(n, intAttr("p", p.f));
};

/** RoiAlign 16: the default coordinate mapping became half_pixel; opset 10's was output_half_pixel. */
const roiAlignMode: Step = (n) => (attr(n, "coordinate_transformation_mode") ? n : withAttr(n, stringAttr("coordinate_transformation_mode", "output_half_pixel")));

/** GridSample 20: modes renamed. */
const gridSampleModes: Step = (n) => {
  const renamed: Record<string, string> = { bilinear: "linear", bicubic: "cubic" };
  const mode = renamed[attrString(n, "mode") ?? "bilinear"];
  return mode ? withAttr(n, stringAttr("mode", mode)) : n;
};

/** DFT 20: `axis` (default 1) became an input. */
const dftAxis: Step = (n, rw) => {
  const axis = attrInt(n, "axis") ?? 1;
  const name = int64Input(rw, n, "axis", [axis], []);
  return withInputs(without(n, "axis"), [n.inputs[0] ?? "", n.inputs[1] ?? "", name]);
};

/** GroupNormalization 21: scale and bias are per channel instead of per group. */
const groupNormPerChannel: Step = (n, rw) => {
  const groups = attrInt(n, "num_groups");
  const [x = "", scale = "", bias = ""] = n.inputs;
  const c = rw.type(x)?.shape?.[1];
  if (groups === undefined || typeof c !== "number" || c % groups !== 0) throw rw.refuse("the channel count is unknown");
  const per = c / groups;
  const expand = (value: string, role: string) => {
    const t = rw.constant(value);
    const v = constantValues(rw, value);
    const out = t && v?.length === groups ? floatTensorOf(t.dtype, [c], v.flatMap((g) => new Array<number>(per).fill(g))) : undefined;
    if (!out) throw rw.refuse(`${role} is not a constant float tensor of ${groups} values`);
    return rw.initializer(`${value}_per_channel`, out);
  };
  return withInputs(n, [x, expand(scale, "scale"), expand(bias, "bias"), ...n.inputs.slice(3)]);
};

/** Scatter 11: deprecated in favour of ScatterElements, same meaning. */
const scatterElements: Step = (n) => ({ ...n, opType: "ScatterElements" });

/** `op`(x, constant of the node input's type), emitted before the node; returns its output. */
function emitArith(rw: Rewrite, n: Node, op: "Mul" | "Add", x: string, role: string, values: readonly number[], dims: readonly number[] = []): string {
  const out = rw.fresh(`${baseOf(n)}_${role}`);
  const c = constantLike(rw, n, `${role}_value`, n.inputs[0] ?? "", values, dims);
  rw.before({ name: rw.nodeName(role), opType: op, inputs: [x, c], outputs: [out], attributes: [] });
  return out;
}

/** Removed experimental ops that are plain arithmetic: rewritten as standard ops (the last node keeps the outputs). */
const experimental: Record<string, Step> = {
  ImageScaler: (n, rw) => {
    const x = n.inputs[0] ?? "";
    const bias = attrFloats(n, "bias") ?? [];
    const scale = attrFloat(n, "scale") ?? 1;
    if (bias.length === 0) return { ...n, opType: "Mul", inputs: [x, constantLike(rw, n, "scale", x, [scale])], attributes: [] };
    const scaled = emitArith(rw, n, "Mul", x, "scaled", [scale]);
    return { ...n, opType: "Add", inputs: [scaled, constantLike(rw, n, "bias", x, bias, [1, bias.length, 1, 1])], attributes: [] };
  },
  Scale: (n, rw) => ({ ...n, opType: "Mul", inputs: [n.inputs[0] ?? "", constantLike(rw, n, "scale", n.inputs[0] ?? "", [attrFloat(n, "scale") ?? 1])], attributes: [] }),
  Affine: (n, rw) => {
    const scaled = emitArith(rw, n, "Mul", n.inputs[0] ?? "", "alpha", [attrFloat(n, "alpha") ?? 1]);
    return { ...n, opType: "Add", inputs: [scaled, constantLike(rw, n, "beta", n.inputs[0] ?? "", [attrFloat(n, "beta") ?? 0])], attributes: [] };
  },
  ScaledTanh: (n, rw) => {
    const inner = emitArith(rw, n, "Mul", n.inputs[0] ?? "", "beta", [attrFloat(n, "beta") ?? 1]);
    const t = rw.fresh(`${baseOf(n)}_tanh`);
    rw.before({ name: rw.nodeName("tanh"), opType: "Tanh", inputs: [inner], outputs: [t], attributes: [] });
    return { ...n, opType: "Mul", inputs: [t, constantLike(rw, n, "alpha", n.inputs[0] ?? "", [attrFloat(n, "alpha") ?? 1])], attributes: [] };
  },
  ParametricSoftplus: (n, rw) => {
    const inner = emitArith(rw, n, "Mul", n.inputs[0] ?? "", "beta", [attrFloat(n, "beta") ?? 1]);
    const t = rw.fresh(`${baseOf(n)}_softplus`);
    rw.before({ name: rw.nodeName("softplus"), opType: "Softplus", inputs: [inner], outputs: [t], attributes: [] });
    return { ...n, opType: "Mul", inputs: [t, constantLike(rw, n, "alpha", n.inputs[0] ?? "", [attrFloat(n, "alpha") ?? 1])], attributes: [] };
  },
  // DynamicSlice(data, starts, ends, axes) is Slice-10 with the same inputs.
  DynamicSlice: (n) => ({ ...n, opType: "Slice" }),
  // Crop(border = [left, top, right, bottom], scale = [height, width]) on NCHW is a Slice of H and W.
  Crop: (n, rw) => {
    const [left = 0, top = 0, right = 0, bottom = 0] = (attrInt64s(n, "border") ?? []).map(Number);
    const scale = attrInt64s(n, "scale")?.map(Number);
    const end = (start: number, size: number | undefined, border: number): Int64 => (size !== undefined ? start + size : border > 0 ? -border : INT64_MAX);
    const ends = [end(top, scale?.[0], bottom), end(left, scale?.[1], right)];
    const inputs = [n.inputs[0] ?? "", int64Input(rw, n, "starts", [top, left]), int64Input(rw, n, "ends", ends), int64Input(rw, n, "axes", [2, 3])];
    return { ...n, opType: "Slice", inputs, attributes: [] };
  },
};

const INT64_MAX = 2n ** 63n - 1n;

/**
 * Version steps per op: [opset at which the schema changed, rewrite]. Steps
 * run in order; ops absent here kept their meaning across 1..MAX_UPGRADE_OPSET
 * (only types widened, or new attributes default to the old behaviour).
 */
const STEPS: Record<string, readonly (readonly [number, Step])[]> = {};

/** Ops that lost `consumed_inputs` at 6. */
for (const op of ["Abs", "Ceil", "Elu", "Exp", "Floor", "HardSigmoid", "InstanceNormalization", "LeakyRelu", "Log", "Max", "Mean", "Min", "Neg", "Reciprocal", "Relu", "Selu", "Sigmoid", "Sqrt", "Sum", "Tanh"]) {
  STEPS[op] = [[6, drop("consumed_inputs")]];
}
for (const op of ["Add", "Sub", "Mul", "Div"]) STEPS[op] = [[6, drop("consumed_inputs")], [7, legacyBroadcast]];
for (const op of ["Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"]) STEPS[op] = [[7, legacyBroadcast]];
for (const op of ["RNN", "GRU", "LSTM"]) STEPS[op] = [[7, drop("output_sequence")]];
for (const op of ["LpPool", "GlobalLpPool"]) STEPS[op] = [[2, lpPoolP]];
for (const op of ["Squeeze", "Unsqueeze", "ReduceSum"]) STEPS[op] = [[13, intsToInput("axes", 1)]];
for (const op of ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]) {
  STEPS[op] = [[18, intsToInput("axes", 1)]];
}
for (const op of ["Softmax", "LogSoftmax", "Hardmax"]) STEPS[op] = [[13, coercedTo2d]];
for (const [op, step] of Object.entries(experimental)) STEPS[op] = [[10, step]];
for (const op of ["ATen", "ConstantFill", "GRUUnit", "GivenTensorFill"]) STEPS[op] = [[10, refuse("it is an experimental op removed from ONNX")]];
Object.assign(STEPS, {
  BatchNormalization: [
    [6, drop("consumed_inputs")],
    [7, drop("is_test")],
    [9, bnSpatial],
    [14, (n, rw) => dropUnreadOutputs(n, rw, 1, "the training-mode output")],
  ],
  Cast: [[6, castToInt]],
  Clip: [
    [6, drop("consumed_inputs")],
    [11, clipInputs],
  ],
  Concat: [[4, concatAxis]],
  DFT: [[20, dftAxis]],
  Dropout: [
    [6, drop("consumed_inputs")],
    [7, drop("is_test")],
    [10, (n, rw) => dropUnreadOutputs(n, rw, 1, "the mask")],
    [12, dropoutRatio],
  ],
  Gemm: [[7, drop("broadcast")]],
  GridSample: [[20, gridSampleModes]],
  GroupNormalization: [[21, groupNormPerChannel]],
  MeanVarianceNormalization: [[9, refuse("MeanVarianceNormalization before opset 9 was experimental")]],
  Pad: [
    [2, padRename],
    [11, padInputs],
  ],
  PRelu: [
    [6, drop("consumed_inputs")],
    [7, preluSlope],
  ],
  Reshape: [[5, reshapeShape]],
  Resize: [
    [11, resizeRoi],
    [13, resizeTfHalfPixel],
  ],
  RoiAlign: [[16, roiAlignMode]],
  Scan: [[9, refuse("Scan-8's batch axis and sequence_lens have no counterpart")]],
  Scatter: [[11, scatterElements]],
  Slice: [[10, sliceInputs]],
  Split: [
    [2, splitInputBack],
    [13, intsToInput("split", 1)],
    [18, splitNumOutputs],
  ],
  Tile: [[6, refuse("Tile-1's tiles/axis inputs")]],
  TopK: [[10, topkInput]],
  Upsample: [
    [7, upsampleScalesAttr],
    [9, upsampleScalesInput],
    [10, upsampleToResize],
  ],
} satisfies Record<string, readonly (readonly [number, Step])[]>);

/** Standard ai.onnx ops up to opset 23 that need no step. */
const UNCHANGED_OPS = new Set(
  `Acos Acosh AffineGrid ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr
  BitwiseXor BlackmanWindow CastLike Celu CenterCropPad Col2Im Compress ConcatFromSequence Constant ConstantOfShape Conv ConvInteger
  ConvTranspose Cos Cosh CumSum DeformConv DepthToSpace DequantizeLinear Det DynamicQuantizeLinear Einsum Erf Expand EyeLike Flatten
  Gather GatherElements GatherND Gelu GlobalAveragePool GlobalMaxPool GreaterOrEqual HammingWindow HannWindow HardSwish Identity If
  ImageDecoder IsInf IsNaN LRN LayerNormalization LessOrEqual Loop LpNormalization MatMul MatMulInteger MaxPool MaxRoiPool MaxUnpool
  MelWeightMatrix Mish Mod Multinomial NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement
  OptionalHasElement QLinearConv QLinearMatMul QuantizeLinear RMSNormalization RandomNormal RandomNormalLike RandomUniform
  RandomUniformLike Range RegexFullMatch ReverseSequence RotaryEmbedding Round STFT ScatterElements ScatterND SequenceAt
  SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape Shrink Sign Sin Sinh Size
  SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth SplitToSequence StringConcat StringNormalizer StringSplit Tan TfIdfVectorizer
  ThresholdedRelu Transpose Trilu Unique Where`.split(/\s+/),
);

// ───────────────────────────── driving ─────────────────────────────

interface ModelContext {
  readonly from: number;
  readonly to: number;
  readonly fresh: (base: string) => string;
  readonly freshNode: (base: string) => string;
  readonly used: ReadonlySet<string>;
}

/** Runs the node through its steps. */
function applySteps(n: Node, rw: Rewrite): Node {
  if (!UNCHANGED_OPS.has(n.opType) && !STEPS[n.opType]) throw rw.refuse("fixq does not know this operator");
  let cur = n;
  let version = rw.from;
  for (;;) {
    const next = STEPS[cur.opType]?.find(([since]) => since > version && since <= rw.to);
    if (!next) return cur;
    cur = next[1](cur, rw);
    version = next[0];
  }
}

/** `n` with its subgraph attributes upgraded (the same object when none changed). */
function upgradeSubgraphs(n: Node, cx: ModelContext, types: ReadonlyMap<string, TensorType>, consts: ReadonlyMap<string, Tensor>): Node {
  let changed = false;
  const attributes = n.attributes.map((a) => {
    if (!a.g && !a.graphs) return a;
    const g = a.g && upgradeGraph(a.g, cx, types, consts);
    const graphs = a.graphs?.map((sg) => upgradeGraph(sg, cx, types, consts));
    if (g === a.g && (graphs ?? []).every((sg, k) => sg === a.graphs![k])) return a;
    changed = true;
    return { ...a, ...(g ? { g } : {}), ...(graphs ? { graphs } : {}) };
  });
  return changed ? { ...n, attributes } : n;
}

/**
 * Ops whose first output has the element type of their first input. Used to
 * fill element types inferTypes leaves open (experimental and less common ops),
 * since attributes that become inputs must match the input's type.
 */
const SAME_TYPE_OPS = new Set(
  `Affine Crop DepthToSpace DynamicSlice Expand Gather GatherElements GatherND GlobalLpPool Hardmax ImageScaler LRN LpNormalization LpPool
  MaxUnpool Mish Pad ParametricSoftplus ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceProd ReduceSumSquare Resize Scale ScaledTanh
  Shrink Slice Softsign SpaceToDepth Split Tile TopK Celu ThresholdedRelu Upsample`.split(/\s+/),
);

/**
 * Inferred types of `g`, plus element types (shape unknown) for the first
 * output of SAME_TYPE_OPS nodes that inferTypes leaves open; inference reruns
 * so that what follows them gets types too (a few rounds at most).
 */
function graphTypes(g: Graph, outer: ReadonlyMap<string, TensorType> | undefined): Map<string, TensorType> {
  let types = inferTypes(g, outer);
  for (let round = 0; round < 8; round++) {
    let added = false;
    for (const n of g.nodes) {
      const out = n.outputs[0];
      const dtype = types.get(n.inputs[0] ?? "")?.dtype;
      if (out && !types.has(out) && dtype && isDefaultDomain(n) && SAME_TYPE_OPS.has(n.opType)) {
        types.set(out, { dtype, shape: undefined });
        added = true;
      }
    }
    if (!added) break;
    types = inferTypes(g, types);
  }
  return types;
}

function upgradeGraph(g: Graph, cx: ModelContext, outerTypes?: ReadonlyMap<string, TensorType>, outerConsts?: ReadonlyMap<string, Tensor>): Graph {
  const types = graphTypes(g, outerTypes);
  // An initializer that is also a graph input can be overridden by a feed: not a constant.
  const inputs = new Set(g.inputs.map((v) => v.name));
  const consts = new Map([...(outerConsts ?? []), ...[...constantTensors(g)].filter(([name]) => !inputs.has(name))]);
  const nodes: Node[] = [];
  const added: Tensor[] = [];
  const dropped = new Set<string>();
  let changed = false;
  g.nodes.forEach((original, index) => {
    const n = upgradeSubgraphs(original, cx, types, consts);
    if (!isDefaultDomain(n)) {
      changed ||= n !== original;
      nodes.push(n);
      return;
    }
    const before: Node[] = [];
    const after: Node[] = [];
    const rw: Rewrite = {
      from: cx.from,
      to: cx.to,
      type: (v) => types.get(v),
      constant: (v) => consts.get(v),
      used: (v) => cx.used.has(v),
      fresh: cx.fresh,
      nodeName: (suffix) => (n.name ? cx.freshNode(`${n.name}_${suffix}`) : undefined),
      initializer: (base, t) => {
        const name = cx.fresh(base);
        added.push({ ...t, name });
        return name;
      },
      before: (x) => before.push(x),
      after: (x) => after.unshift(x),
      dropOutput: (v) => dropped.add(v),
      refuse: (why) => new FixqError("unsupported", `cannot upgrade ${n.opType} from opset ${cx.from} to ${cx.to}: ${why}`, nodeLabel(n, index)),
    };
    const out = applySteps(n, rw);
    changed ||= out !== original || before.length > 0 || after.length > 0;
    nodes.push(...before, out, ...after);
  });
  if (!changed && added.length === 0) return g;
  return {
    ...g,
    nodes,
    initializers: added.length > 0 ? [...g.initializers, ...added] : g.initializers,
    valueInfo: dropped.size > 0 ? g.valueInfo.filter((v) => !dropped.has(v.name)) : g.valueInfo,
    inferred: undefined,
  };
}

/** Every value name and node name in the model, and the values something reads. */
function modelNames(g: Graph): { values: Set<string>; nodes: Set<string>; used: Set<string> } {
  const values = new Set<string>();
  const nodes = new Set<string>();
  const used = new Set<string>();
  for (const [sg] of walkGraphs(g)) {
    for (const v of [...sg.inputs, ...sg.outputs, ...sg.valueInfo]) values.add(v.name);
    for (const v of sg.outputs) used.add(v.name);
    for (const t of sg.initializers) if (t.name) values.add(t.name);
    for (const n of sg.nodes) {
      if (n.name) nodes.add(n.name);
      for (const v of n.inputs) {
        values.add(v);
        used.add(v);
      }
      for (const v of n.outputs) values.add(v);
    }
  }
  return { values, nodes, used };
}

/**
 * Returns `model` with its default-domain opset raised to `target`, every
 * node rewritten to its target-version form. Returns `model` itself when it is
 * already at `target`. Throws FixqError "usage" for a lower target and
 * "unsupported" for a node it cannot convert.
 */
export function upgradeOpset(model: Model, target: number): Model {
  if (!Number.isInteger(target) || target < 1) throw new FixqError("usage", `invalid target opset ${target}`);
  if (target > MAX_UPGRADE_OPSET) throw new FixqError("unsupported", `fixq knows ai.onnx schema changes up to opset ${MAX_UPGRADE_OPSET}, not ${target}`);
  const index = model.opsets.findIndex((o) => isDefaultDomain(o));
  const from = index >= 0 ? Number(model.opsets[index]!.version ?? 0) : undefined;
  if (from !== undefined && from > target) throw new FixqError("usage", `cannot lower the ai.onnx opset from ${from} to ${target}`);
  if (from === target) return model;
  for (const f of model.functions) {
    const fv = f.opsets.find((o) => isDefaultDomain(o));
    if (fv && Number(fv.version ?? 0) !== target && f.nodes.some((n) => isDefaultDomain(n))) {
      throw new FixqError("unsupported", `model-local function '${f.name ?? ""}' imports ai.onnx opset ${fv.version}; upgrading functions is not implemented`);
    }
  }
  let graph = model.graph;
  if (graph && from !== undefined) {
    const names = modelNames(graph);
    const cx: ModelContext = { from, to: target, fresh: uniqueNamer(names.values), freshNode: uniqueNamer(names.nodes), used: names.used };
    graph = upgradeGraph(graph, cx);
  } else if (graph && [...walkGraphs(graph)].some(([sg]) => sg.nodes.some((n) => isDefaultDomain(n)))) {
    throw new FixqError("model", "the model uses ai.onnx ops but imports no ai.onnx opset");
  }
  const opsets = [...model.opsets];
  if (index >= 0) opsets[index] = { ...opsets[index]!, version: target };
  else opsets.push({ domain: "", version: target });
  const irVersion = Math.max(Number(model.irVersion ?? 0), irVersionForOpset(target));
  return { ...model, irVersion, opsets, graph };
}
