/**
 * QDQ writer: turns the quantization specs on a graph's values (`Graph.quant`)
 * into QuantizeLinear/DequantizeLinear nodes that ONNX Runtime fuses into
 * integer kernels. The inverse of qdq-read.ts.
 *
 * - A constant v (initializer or Constant node) becomes an integer initializer
 *   `v__quantized` = QuantizeLinear(v) under its spec, read through
 *   DequantizeLinear → `v__dq` (always with an explicit zero point: ORT fuses
 *   QGemm only then; `axis` per channel, `axis` + `block_size` per block).
 * - A graph input x is read through Q(x) → DQ → `x__dq`.
 * - Any other value t keeps its name: its producer writes `t__f`, then
 *   Q(t__f) → DQ → t, so consumers and graph outputs are untouched.
 * - Constants are written as the integer codes given in `opts.codes` (the
 *   rounding stage's choice, round-weights.ts), exactly: the writer never
 *   rounds. Without `opts.codes` it takes nearest rounding's codes for all.
 * - Numerically equal specs share one pair of scale/zero-point initializers.
 * - 4-bit tensors are packed two per byte, first element in the low nibble.
 * - Float constants that nothing reads any more are dropped, and with them a
 *   graph input of the same name (IR < 4 exports list every initializer as a
 *   graph input too; left behind, it would be a required input without data).
 * - Float formats: FP8 constants and activations use the same Q/DQ pattern with
 *   FP8 zero points; MX and NVFP4 weights are written by qdq-float-write.ts
 *   (native or dequantized storage); dynamic MX/NVFP4 activations become the
 *   graph of standard ops of block-act-graph.ts between `t__f` and `t`.
 * - A fixed-point activation of W bits stored in a wider type (fixed<12,4> in
 *   INT16) is clipped to its W-bit range in float before its QuantizeLinear
 *   (Clip → Q → DQ), which saturates only at the storage type; a graph input
 *   is not (the integer program's input quantize clamps to the W-bit range),
 *   nor a pass-through output, which holds its source's values.
 * - The exact format of every quantized tensor goes into the graph's
 *   `quantization_annotation` (format-annotation.ts): `fixq_format` and
 *   `finn_datatype` on its integer (code) tensor, the QuantizeLinear output
 *   or the weight's integer initializer, and FIXED<W,I> on the dequantized
 *   tensor where its values are fixed point. Annotations of tensors that no
 *   longer exist are dropped; others are kept.
 */
import { createHash } from "node:crypto";
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { type Attribute, type Graph, type Node, valuesRead } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import { type AffineQuant, type BlockQuant, type DynamicBlockQuant, type FloatQuant, isIntSpec, type QuantSpec } from "../ir/quant.js";
import { type Tensor, tensorElementCount } from "../ir/tensor.js";
import { dynamicBlockGraph } from "./block-act-graph.js";
import { FormatAnnotations } from "./format-annotation.js";
import { fixedClipBounds } from "./fixed-formats.js";
import { PASS_THROUGH } from "./plan.js";
import { type FloatWriteOptions, writeFloatWeight } from "./qdq-float-write.js";
import { roundNearest } from "./round-weights.js";
import { graphNames } from "../ir/names.js";

/** Two 4-bit values per byte, the first in the low nibble; an odd count leaves the last high nibble 0. */
function packNibbles(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1]! |= (values[i]! & 0xf) << ((i & 1) * 4);
  return out;
}

/** Integer or float values as ONNX raw_data of `dtype` (values must already fit the type). */
export function rawOf(dtype: number, values: ArrayLike<number>): Uint8Array {
  switch (dtype) {
    case DataType.INT4:
    case DataType.UINT4:
      return packNibbles(values);
    case DataType.INT8:
      return new Uint8Array(Int8Array.from(values).buffer);
    case DataType.UINT8:
      return Uint8Array.from(values);
    case DataType.INT16:
      return new Uint8Array(Int16Array.from(values).buffer);
    case DataType.UINT16:
      return new Uint8Array(Uint16Array.from(values).buffer);
    case DataType.INT32:
      return new Uint8Array(Int32Array.from(values).buffer);
    case DataType.FLOAT:
      return new Uint8Array(Float32Array.from(values).buffer);
    default:
      throw new FixqError("unsupported", `QDQ export of dtype ${dtype} is not implemented yet`);
  }
}

function tensor(name: string, dtype: number, dims: readonly number[], values: ArrayLike<number>): Tensor {
  return { name, dtype, dims: [...dims], raw: rawOf(dtype, values) };
}

/** Specs written as a QuantizeLinear/DequantizeLinear pair with scale and zero-point tensors. */
type PairSpec = AffineQuant | BlockQuant | FloatQuant;

function paramDims(spec: PairSpec): number[] {
  return spec.kind === "block" ? [...spec.dims] : spec.axis === undefined ? [] : [spec.scale.length];
}

function specAttributes(spec: PairSpec): Attribute[] {
  const axis = spec.kind === "block" ? spec.axis : spec.axis;
  return [
    ...(axis === undefined ? [] : [{ name: "axis", type: 2, i: axis }]),
    ...(spec.kind === "block" ? [{ name: "block_size", type: 2, i: spec.blockSize }] : []),
  ];
}

/** A key equal for numerically equal scale/zero-point tensors. */
function paramKey(spec: PairSpec): string {
  const h = createHash("sha256");
  h.update(`${zeroPointType(spec)}:${paramDims(spec).join("x")}:`);
  h.update(new Uint8Array(spec.scale.buffer, spec.scale.byteOffset, spec.scale.byteLength));
  if (spec.kind !== "float") h.update(new Uint8Array(spec.zeroPoint.buffer, spec.zeroPoint.byteOffset, spec.zeroPoint.byteLength));
  return h.digest("hex");
}

/** The element type of the quantized tensor, which the zero point shares. */
function zeroPointType(spec: PairSpec): number {
  return spec.kind === "float" ? spec.format.onnxType : spec.format.dtype;
}

function zeroPointTensor(name: string, spec: PairSpec): Tensor {
  const dims = paramDims(spec);
  // An FP8 zero point is 0: code 0 in every FP8 type.
  if (spec.kind === "float") return { name, dtype: spec.format.onnxType, dims, raw: new Uint8Array(spec.scale.length) };
  return tensor(name, spec.format.dtype, dims, spec.zeroPoint);
}

/**
 * Writes Q/DQ nodes for the specs on `g`. `opts.storage` chooses how MX/NVFP4
 * weights are stored (default native); `opts.e8m0Scales` stores MX scales as
 * FLOAT8E8M0, which needs opset 24 (default: float32 powers of two).
 */
export interface WriteOptions extends FloatWriteOptions {
  /** The code of every element of every quantized constant, by value name; default: nearest rounding. */
  readonly codes: ReadonlyMap<string, ArrayLike<number>>;
}

/** The codes chosen for constant `v`; an internal error when the rounding stage chose none, or the wrong number. */
function chosenCodes(codes: ReadonlyMap<string, ArrayLike<number>>, v: string, c: Tensor): ArrayLike<number> {
  const q = codes.get(v);
  if (!q) throw new FixqError("runtime", `internal error: no weight codes chosen for constant '${v}'`);
  if (q.length !== tensorElementCount(c)) throw new FixqError("runtime", `internal error: ${q.length} codes for constant '${v}' of ${tensorElementCount(c)} elements`);
  return q;
}

export function writeQdq(g: Graph, opts: Partial<WriteOptions> = {}): Graph {
  const floatOpts: FloatWriteOptions = { storage: opts.storage ?? "native", e8m0Scales: opts.e8m0Scales ?? false };
  const quant = g.quant ?? new Map<string, QuantSpec>();
  if (quant.size === 0) return g;
  const codes = opts.codes ?? roundNearest(g);
  const codesOf = (v: string, c: Tensor) => chosenCodes(codes, v, c);
  const names = graphNames(g);
  const consts = constantTensors(g);
  const inputs = new Set(g.inputs.map((v) => v.name));
  const newInits: Tensor[] = [];
  const params = new Map<string, [string, string]>();
  const paramsOf = (value: string, spec: PairSpec): [string, string] => {
    const key = paramKey(spec);
    let p = params.get(key);
    if (!p) {
      p = [names.fresh(`${value}__scale`), names.fresh(`${value}__zero_point`)];
      newInits.push(tensor(p[0], DataType.FLOAT, paramDims(spec), spec.scale), zeroPointTensor(p[1], spec));
      params.set(key, p);
    }
    return p;
  };
  const annotations = new FormatAnnotations();
  const qdqNode = (op: "QuantizeLinear" | "DequantizeLinear", x: string, [s, z]: [string, string], y: string, attrs: Attribute[]): Node => ({
    opType: op,
    name: names.fresh(`${y}_${op === "QuantizeLinear" ? "Q" : "DQ"}`),
    inputs: [x, s, z],
    outputs: [y],
    attributes: attrs,
  });

  /** x → Q → DQ → y (x → Clip → Q → DQ → y for a fixed-point design narrower than its storage), or x → the dynamic block graph → y. */
  const activationNodes = (x: string, y: string, spec: PairSpec | DynamicBlockQuant, value: string, input = false): Node[] => {
    if (spec.kind === "dynamic-block") {
      const sub = dynamicBlockGraph(x, y, spec, (b) => names.fresh(b));
      newInits.push(...sub.inits);
      return sub.nodes;
    }
    if (spec.kind === "block") throw new FixqError("unsupported", `blocked quantization of activation '${value}'`);
    const p = paramsOf(value, spec);
    const q = names.fresh(`${value}__q`);
    annotations.add(q, y, spec);
    const bounds = input ? undefined : fixedClipBounds(spec);
    const clip: Node[] = [];
    if (bounds) {
      const [lo, hi, c] = [names.fresh(`${value}__clip_min`), names.fresh(`${value}__clip_max`), names.fresh(`${value}__clipped`)];
      newInits.push(tensor(lo, DataType.FLOAT, [], [bounds[0]]), tensor(hi, DataType.FLOAT, [], [bounds[1]]));
      clip.push({ opType: "Clip", name: names.fresh(`${value}_clip`), inputs: [x, lo, hi], outputs: [c], attributes: [] });
      x = c;
    }
    return [...clip, qdqNode("QuantizeLinear", x, p, q, specAttributes(spec)), qdqNode("DequantizeLinear", q, p, y, specAttributes(spec))];
  };
  const activationSpec = (v: string, spec: QuantSpec): PairSpec | DynamicBlockQuant => {
    if (spec.kind === "mx" || spec.kind === "nvfp4") throw new FixqError("unsupported", `${spec.kind} spec with static block scales on activation '${v}'`);
    return spec;
  };

  const head: Node[] = []; // weight DQs, then input Q/DQs, ahead of every other node
  const readAs = new Map<string, string>(); // value → the DQ output its readers now read
  for (const [v, spec] of quant) {
    const c = consts.get(v);
    if (c && !isIntSpec(spec)) {
      if (spec.kind === "dynamic-block") throw new FixqError("unsupported", `dynamic block quantization of constant '${v}'`);
      const w = writeFloatWeight(v, c, spec, floatOpts, (b) => names.fresh(b), Uint8Array.from(codesOf(v, c)));
      head.push(...w.nodes);
      newInits.push(...w.inits);
      annotations.add(w.codes, undefined, spec);
      readAs.set(v, w.out);
    } else if (c && isIntSpec(spec)) {
      const dims = c.dims.map(Number);
      const q = codesOf(v, c);
      const qName = names.fresh(`${v}__quantized`);
      newInits.push(tensor(qName, spec.format.dtype, dims, q));
      const out = names.fresh(`${v}__dq`);
      head.push(qdqNode("DequantizeLinear", qName, paramsOf(v, spec), out, specAttributes(spec)));
      annotations.add(qName, out, spec);
      readAs.set(v, out);
    } else if (inputs.has(v)) {
      const out = names.fresh(`${v}__dq`);
      head.push(...activationNodes(v, out, activationSpec(v, spec), v, true));
      readAs.set(v, out);
    }
  }
  const nodes: Node[] = [...head];
  for (const n of g.nodes) {
    const after: Node[] = [];
    const outputs = n.outputs.map((o) => {
      const spec = o ? quant.get(o) : undefined;
      if (!spec || consts.has(o)) return o;
      const f = names.fresh(`${o}__f`);
      // a pass-through output (MaxPool, Flatten, …) holds its clipped source's values: no second Clip
      after.push(...activationNodes(f, o, activationSpec(o, spec), o, PASS_THROUGH.has(n.opType)));
      return f;
    });
    const ins = n.inputs.map((i) => readAs.get(i) ?? i);
    const changed = outputs.some((o, k) => o !== n.outputs[k]) || ins.some((i, k) => i !== n.inputs[k]);
    nodes.push(changed ? { ...n, inputs: ins, outputs } : n, ...after);
  }

  // Float constants nothing reads any more go, as Constant nodes or initializers.
  const read = valuesRead({ ...g, nodes });
  const dead = (v: string) => quant.has(v) && consts.has(v) && !read.has(v);
  const live = nodes.filter((n) => !(n.opType === "Constant" && n.outputs.length === 1 && dead(n.outputs[0]!)));
  const initializers = [...g.initializers.filter((t) => !dead(t.name ?? "")), ...newInits];
  const graphInputs = g.inputs.filter((v) => !dead(v.name));
  const { quant: _written, ...rest } = g;
  return annotations.applyTo({ ...rest, inputs: graphInputs, nodes: live, initializers });
}
