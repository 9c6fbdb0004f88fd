/**
 * QDQ export: turns a float graph plus a quantization plan and calibrated
 * ranges into a graph with QuantizeLinear/DequantizeLinear pairs that ONNX
 * Runtime fuses into integer kernels.
 *
 * - A quantized activation t keeps its name: its producer writes `t__f`, then
 *   Q(t__f) → DQ → t, so consumers and graph outputs are untouched. A quantized
 *   graph input x is read through Q(x) → DQ → `x__dq`.
 * - Weights become integer initializers read through DequantizeLinear (with an
 *   explicit zero point: ORT fuses QGemm only then), per channel along the
 *   output-channel axis. Biases become int32 with scale s_x·s_w and zero point 0.
 * - Weights that no float op reads any more are dropped.
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { type AffineQuant, affineParams, type IntFormat, quantizeValue } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import type { QuantPlan, WeightUse } from "./plan.js";

export interface QdqOptions {
  readonly actFormat: IntFormat;
  readonly symmetricActs: boolean;
  readonly weightFormat: IntFormat;
  readonly perChannel: boolean;
}

function rawOf(dtype: number, values: ArrayLike<number>): Uint8Array {
  switch (dtype) {
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

function tensor(name: string, dtype: number, dims: number[], values: ArrayLike<number>): Tensor {
  return { name, dtype, dims, raw: rawOf(dtype, values) };
}

function specTensors(base: string, spec: AffineQuant): [Tensor, Tensor] {
  const dims = spec.axis === undefined ? [] : [spec.scale.length];
  return [tensor(`${base}__scale`, DataType.FLOAT, dims, spec.scale), tensor(`${base}__zero_point`, spec.format.dtype, dims, spec.zeroPoint)];
}

class Names {
  private readonly used = new Set<string>();
  constructor(g: Graph) {
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) this.used.add(v.name);
    for (const t of g.initializers) if (t.name) this.used.add(t.name);
    for (const n of g.nodes) {
      for (const o of [...n.inputs, ...n.outputs]) this.used.add(o);
      if (n.name) this.used.add(n.name);
    }
  }
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** Per-channel (or per-tensor) symmetric or asymmetric quantization of a float weight. */
export function quantizeWeight(w: Tensor, axis: number, f: IntFormat): { spec: AffineQuant; q: Int32Array } {
  const values = tensorToFloat64(w);
  const channels = axis >= 0 ? w.dims[axis]! : 1;
  const inner = axis >= 0 ? w.dims.slice(axis + 1).reduce((a, b) => a * b, 1) : values.length;
  const lo = new Float64Array(channels).fill(0);
  const hi = new Float64Array(channels).fill(0);
  const channelOf = (i: number) => (axis >= 0 ? Math.floor(i / inner) % channels : 0);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    const v = values[i]!;
    if (v < lo[c]!) lo[c] = v;
    if (v > hi[c]!) hi[c] = v;
  }
  const scale = new Float32Array(channels);
  const zeroPoint = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const p = affineParams(lo[c]!, hi[c]!, f, f.signed);
    scale[c] = p.scale;
    zeroPoint[c] = p.zeroPoint;
  }
  const q = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    q[i] = quantizeValue(values[i]!, scale[c]!, zeroPoint[c]!, f.qmin, f.qmax);
  }
  return { spec: { kind: "affine", format: f, scale, zeroPoint, axis: axis >= 0 ? axis : undefined }, q };
}

/** A constant operand of an elementwise op, in the activation format over its exact range. */
function quantizeConstantAsActivation(t: Tensor, opts: QdqOptions): { spec: AffineQuant; q: Int32Array } {
  const v = tensorToFloat64(t);
  let lo = 0;
  let hi = 0;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const spec = activationSpec(lo, hi, opts);
  const f = spec.format;
  return { spec, q: Int32Array.from(v, (x) => quantizeValue(x, spec.scale[0]!, spec.zeroPoint[0]!, f.qmin, f.qmax)) };
}

export function activationSpec(lo: number, hi: number, opts: QdqOptions): AffineQuant {
  const p = affineParams(lo, hi, opts.actFormat, opts.symmetricActs);
  return { kind: "affine", format: opts.actFormat, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) };
}

export interface QdqResult {
  readonly graph: Graph;
  /** Specs of every quantized value (activations by name, weights by original name). */
  readonly specs: Map<string, AffineQuant>;
}

export function emitQdq(g: Graph, plan: QuantPlan, ranges: ReadonlyMap<string, { lo: number; hi: number }>, opts: QdqOptions): QdqResult {
  const names = new Names(g);
  const specs = new Map<string, AffineQuant>(); // activations: rewritten with Q/DQ after their producer
  const weightSpecs = new Map<string, AffineQuant>(); // constants: read through DequantizeLinear
  const newInits: Tensor[] = [];
  const qdqNode = (op: "QuantizeLinear" | "DequantizeLinear", x: string, scale: string, zp: string, y: string, axis?: number): Node => ({
    opType: op,
    name: names.fresh(`${y}_${op === "QuantizeLinear" ? "Q" : "DQ"}`),
    inputs: [x, scale, zp],
    outputs: [y],
    attributes: axis === undefined ? [] : [{ name: "axis", type: 2, i: axis }],
  });

  // Activation specs: calibrated tensors, then pass-through outputs sharing their source's spec.
  for (const t of plan.activations) {
    const r = ranges.get(t);
    if (!r) throw new FixqError("runtime", `no calibration range for tensor '${t}'`);
    specs.set(t, activationSpec(r.lo, r.hi, opts));
  }
  for (const [t, src] of plan.sharedWith) specs.set(t, specs.get(src)!);
  const specParams = new Map<AffineQuant, [string, string]>();
  const paramsOf = (base: string, spec: AffineQuant): [string, string] => {
    let p = specParams.get(spec);
    if (!p) {
      const [s, z] = specTensors(names.fresh(base), spec);
      newInits.push(s, z);
      p = [s.name!, z.name!];
      specParams.set(spec, p);
    }
    return p;
  };

  // Weights and biases, read through DequantizeLinear.
  const weightInput = new Map<Node, Map<number, string>>();
  const weightDone = new Map<string, { out: string; spec: AffineQuant }>();
  const weightNodes: Node[] = [];
  const setInput = (n: Node, slot: number, name: string) => {
    if (!weightInput.has(n)) weightInput.set(n, new Map());
    weightInput.get(n)!.set(slot, name);
  };
  const addWeight = (u: WeightUse) => {
    const key = `${u.tensor.name}@${u.axis}@${u.asActivation ? "act" : "w"}`;
    let done = weightDone.get(key);
    if (!done) {
      const { spec, q } = u.asActivation
        ? quantizeConstantAsActivation(u.tensor, opts)
        : quantizeWeight(u.tensor, opts.perChannel ? u.axis : -1, opts.weightFormat);
      const base = names.fresh(`${u.tensor.name}__quantized`);
      newInits.push(tensor(base, spec.format.dtype, [...u.tensor.dims], q));
      const [s, z] = paramsOf(`${u.tensor.name}`, spec);
      const out = names.fresh(`${u.tensor.name}__dq`);
      weightNodes.push(qdqNode("DequantizeLinear", base, s, z, out, spec.axis));
      done = { out, spec };
      weightDone.set(key, done);
      weightSpecs.set(u.tensor.name ?? out, spec);
    }
    setInput(u.node, u.slot, done.out);
    return done.spec;
  };
  const weightSpecOf = new Map<Node, AffineQuant>();
  for (const u of plan.weights) {
    const spec = addWeight(u);
    if (u.slot === 1 && !u.asActivation) weightSpecOf.set(u.node, spec);
  }
  for (const u of plan.biases) {
    const ws = weightSpecOf.get(u.node);
    const xs = specs.get(u.node.inputs[0]!);
    if (!ws || !xs) continue;
    const b = tensorToFloat64(u.tensor);
    const channels = b.length;
    const scale = new Float32Array(channels);
    for (let c = 0; c < channels; c++) scale[c] = Math.fround(xs.scale[0]! * ws.scale[ws.axis === undefined ? 0 : c]!);
    const q = new Int32Array(channels);
    for (let c = 0; c < channels; c++) q[c] = quantizeValue(b[c]!, scale[c]!, 0, -(2 ** 31), 2 ** 31 - 1);
    const spec: AffineQuant = { kind: "affine", format: { dtype: DataType.INT32, bits: 32, signed: true, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 }, scale, zeroPoint: new Int32Array(channels), axis: 0 };
    const base = names.fresh(`${u.tensor.name}__quantized`);
    newInits.push(tensor(base, DataType.INT32, [channels], q));
    const [s, z] = paramsOf(`${u.tensor.name}`, spec);
    const out = names.fresh(`${u.tensor.name}__dq`);
    weightNodes.push(qdqNode("DequantizeLinear", base, s, z, out, 0));
    setInput(u.node, u.slot, out);
  }

  // Rebuild the node list with Q/DQ pairs after every quantized activation.
  const nodes: Node[] = [...weightNodes];
  const rename = new Map<string, string>();
  for (const v of g.inputs) {
    const spec = specs.get(v.name);
    if (!spec) continue;
    const [s, z] = paramsOf(v.name, spec);
    const q = names.fresh(`${v.name}__q`);
    const dq = names.fresh(`${v.name}__dq`);
    nodes.push(qdqNode("QuantizeLinear", v.name, s, z, q), qdqNode("DequantizeLinear", q, s, z, dq));
    rename.set(v.name, dq);
  }
  for (const n of g.nodes) {
    const slots = weightInput.get(n);
    const inputs = n.inputs.map((i, k) => slots?.get(k) ?? rename.get(i) ?? i);
    const after: Node[] = [];
    const outputs = n.outputs.map((o) => {
      const spec = o ? specs.get(o) : undefined;
      if (!spec) return o;
      const [s, z] = paramsOf(o, spec);
      const f = names.fresh(`${o}__f`);
      const q = names.fresh(`${o}__q`);
      after.push(qdqNode("QuantizeLinear", f, s, z, q), qdqNode("DequantizeLinear", q, s, z, o));
      return f;
    });
    nodes.push({ ...n, inputs, outputs }, ...after);
  }

  // Drop float weights and Constant nodes nothing reads any more.
  const read = new Set<string>();
  for (const n of nodes) for (const i of n.inputs) read.add(i);
  for (const o of g.outputs) read.add(o.name);
  const replaced = new Set([...plan.weights, ...plan.biases].map((u) => u.tensor.name));
  const keepNode = (n: Node) => !(n.opType === "Constant" && replaced.has(n.outputs[0]) && !read.has(n.outputs[0]!));
  const initializers = [...g.initializers.filter((t) => !(replaced.has(t.name) && !read.has(t.name ?? ""))), ...newInits];
  return { graph: { ...g, nodes: nodes.filter(keepNode), initializers }, specs: new Map([...specs, ...weightSpecs]) };
}
