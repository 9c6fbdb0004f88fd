/**
 * QDQ import: reads the QuantizeLinear/DequantizeLinear nodes of an already
 * quantized model (fixq's own output, ONNX Runtime's `quantize_static`, other
 * tools) back into quantization specs on values, and strips them to give the
 * float graph those specs describe.
 *
 * Patterns recognised (scale and zero point must be constants):
 * - activation: f → QuantizeLinear(s, z) → q → DequantizeLinear(s, z) → t, the
 *   Q with this one consumer and both nodes with equal parameters. The spec
 *   belongs to t; stripping merges f and t into one value (keeping whichever
 *   name is a graph input or output).
 * - weight: an integer constant W → DequantizeLinear(s, z [, axis, block_size]) → w.
 *   Stripping makes w a float constant, (W − z)·s rounded to float32 exactly
 *   as DequantizeLinear computes it, with the spec on w, so re-quantizing w
 *   with that spec gives back W.
 * A spec always implies its clamp to [(qmin − z)·s, (qmax − z)·s]: ONNX
 * Runtime's tool drops a Relu before an activation whose range starts at 0 and
 * lets QuantizeLinear's saturation do its work, so the stripped graph is the
 * model only together with its specs (as the QDQ writer re-emits them).
 * Anything else (a Q whose output is read by a float op, mismatched
 * parameters, a value that would need two names) is left as nodes and
 * reported in `unmatched`, never guessed at.
 *
 * Float formats: FP8 (all four types) per tensor or per axis, weights and
 * activations, read back as FloatQuant (the zero point must be 0). Not read:
 * blocked FP8 (fixq's MXFP8 / MXINT8 weights), FLOAT4E2M1 (MXFP4, NVFP4),
 * E8M0 or computed scales (NVFP4's second DequantizeLinear), and fixq's
 * dynamic MX/NVFP4 activation graphs, which are plain float ops; weights
 * stored dequantized are plain float constants. These stay as they are, and
 * `unmatched` says why.
 *
 * Integer formats are exact: the graph's quantization annotations say which
 * range a tensor uses inside its storage type (a 3-bit weight stored as
 * INT4), and without them a weight reads as the narrowest format holding its
 * codes, listed in `notes` (qdq-read-formats.ts). Stripping drops the
 * annotations of the tensors it removes and the format keys of those it keeps.
 */
import { attrInt } from "../ir/attrs.js";
import { DataType, dtypeName } from "../ir/dtype.js";
import { type AnnotationEntries, pruneQuantAnnotations, quantAnnotations } from "../ir/annotations.js";
import { type Graph, type Node, readersOf, subgraphReads, valuesRead } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import type { AffineQuant, BlockQuant, FloatQuant, QuantSpec } from "../ir/quant.js";
import { makeFloatTensor, type Tensor, tensorBytes, tensorToFloat64 } from "../ir/tensor.js";
import { floatFormatOfDataType } from "../numerics/float-formats.js";
import { decodeFloatWeight } from "./float-weights.js";
import { FORMAT_KEYS } from "./format-annotation.js";
import { readFixedDesign } from "./qdq-read-fixed.js";
import { readIntFormat } from "./qdq-read-formats.js";
import { dequantizeWithSpec } from "./weights.js";

export interface ImportedActivation {
  readonly spec: AffineQuant | FloatQuant;
  readonly quantize: Node;
  readonly dequantize: Node;
  /** The float value the QuantizeLinear reads. */
  readonly source: string;
}

export interface ImportedWeight {
  readonly spec: QuantSpec;
  readonly dequantize: Node;
  /** The integer tensor the DequantizeLinear reads. */
  readonly values: Tensor;
  readonly valuesName: string;
}

export interface QdqView {
  /** By the DequantizeLinear output's name. */
  readonly activations: ReadonlyMap<string, ImportedActivation>;
  /** By the DequantizeLinear output's name. */
  readonly weights: ReadonlyMap<string, ImportedWeight>;
  readonly unmatched: readonly { readonly node: Node; readonly reason: string }[];
  /** Formats inferred rather than read from an annotation (another tool's model), one line each. */
  readonly notes: readonly string[];
}

const INTEGER_TYPES = new Set<number>([DataType.INT4, DataType.UINT4, DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32]);

const FP8_TYPES = new Set<number>([DataType.FLOAT8E4M3FN, DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ]);

/** An FP8 DequantizeLinear: per tensor or per axis, zero point 0 (code 0 in every FP8 type). */
function fp8SpecOf(dq: Node, dtype: number, s: Tensor, z: Tensor | undefined, dims: readonly number[] | undefined): FloatQuant | string {
  if (attrInt(dq, "block_size", 0) > 0) return "blocked FLOAT8 (MX) quantization is not read back";
  if (z && (z.dtype !== dtype || tensorBytes(z).some((b) => b !== 0))) return "FP8 zero point is not 0";
  const format = floatFormatOfDataType(dtype)!;
  const scale = Float32Array.from(tensorToFloat64(s));
  if (s.dims.length === 0 || scale.length === 1) return { kind: "float", format, scale };
  if (s.dims.length !== 1) return "scale has rank > 1 without block_size";
  let axis = attrInt(dq, "axis", 1);
  if (axis < 0) {
    if (!dims) return "negative axis on a tensor of unknown rank";
    axis += dims.length;
  }
  return { kind: "float", format, scale, axis };
}

/** Same scale and zero-point values (not necessarily the same initializers). */
function sameParams(a: Node, b: Node, consts: ReadonlyMap<string, Tensor>): boolean {
  for (const slot of [1, 2]) {
    const x = a.inputs[slot] ?? "";
    const y = b.inputs[slot] ?? "";
    if (x === y) continue;
    const tx = consts.get(x);
    const ty = consts.get(y);
    if (!tx || !ty || tx.dtype !== ty.dtype) return false;
    const vx = tensorToFloat64(tx);
    const vy = tensorToFloat64(ty);
    if (vx.length !== vy.length || vx.some((v, i) => v !== vy[i])) return false;
  }
  return attrInt(a, "axis", 1) === attrInt(b, "axis", 1) && attrInt(a, "block_size", 0) === attrInt(b, "block_size", 0);
}

/** Where a spec's integer codes are: the tensor (a constant's values, or a QuantizeLinear output) and its annotation. */
interface Codes {
  readonly name: string;
  readonly annotation: AnnotationEntries | undefined;
  /** A constant's stored values; absent for an activation. */
  readonly values?: ArrayLike<number>;
}

/**
 * The spec a DequantizeLinear node describes, or a reason it cannot be read.
 * `dims` are those of the quantized tensor when known (needed for a negative
 * axis). `notes` collects formats inferred rather than read.
 */
function specOf(dq: Node, dtype: number, dims: readonly number[] | undefined, consts: ReadonlyMap<string, Tensor>, codes: Codes, notes: string[]): QuantSpec | string {
  const s = consts.get(dq.inputs[1] ?? "");
  if (!s) return "scale is not a constant";
  if (s.dtype !== DataType.FLOAT) return `scale is ${dtypeName(s.dtype)}, not float32`;
  const zName = dq.inputs[2] ?? "";
  const z = zName ? consts.get(zName) : undefined;
  if (zName && !z) return "zero point is not a constant";
  if (FP8_TYPES.has(dtype)) return fp8SpecOf(dq, dtype, s, z, dims);
  if (!INTEGER_TYPES.has(dtype)) return `quantized type ${dtypeName(dtype)} is not a type fixq reads back (integers and FP8)`;
  const scale = Float32Array.from(tensorToFloat64(s));
  const zeroPoint = z ? Int32Array.from(tensorToFloat64(z)) : new Int32Array(scale.length);
  const read = readIntFormat(codes.name, dtype, codes.annotation, codes.values && { values: codes.values, zeroPoints: zeroPoint });
  if (read.note) notes.push(read.note);
  const format = read.format;
  const blockSize = attrInt(dq, "block_size", 0);
  const sDims = s.dims.map(Number);
  if (blockSize > 0) {
    if (!dims) return "blocked quantization of a tensor of unknown shape";
    const axis = (attrInt(dq, "axis", 1) + dims.length) % dims.length;
    return { kind: "block", format, axis, blockSize, dims: sDims, scale, zeroPoint } satisfies BlockQuant;
  }
  // A one-element 1-D scale is per tensor, as ONNX Runtime reads it (its axis may not even exist).
  if (sDims.length === 0 || (sDims.length === 1 && scale.length === 1)) {
    const fixed = readFixedDesign(codes.name, codes.annotation, format, scale, zeroPoint);
    return { kind: "affine", format, scale, zeroPoint, ...(fixed ? { fixed } : {}) } satisfies AffineQuant;
  }
  if (sDims.length !== 1) return "scale has rank > 1 without block_size";
  let axis = attrInt(dq, "axis", 1);
  if (axis < 0) {
    if (!dims) return "negative axis on a tensor of unknown rank";
    axis += dims.length;
  }
  return { kind: "affine", format, scale, zeroPoint, axis } satisfies AffineQuant;
}

export function readQdq(g: Graph): QdqView {
  const consts = constantTensors(g);
  const annotations = quantAnnotations(g);
  const notes: string[] = [];
  const consumers = readersOf(g);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const inSubgraphs = subgraphReads(g);
  const isStandard = (n: Node) => (n.domain ?? "") === "" || n.domain === "ai.onnx";

  const activations = new Map<string, ImportedActivation>();
  const weights = new Map<string, ImportedWeight>();
  const unmatched: { node: Node; reason: string }[] = [];
  const used = new Set<Node>();
  for (const dq of g.nodes) {
    if (dq.opType !== "DequantizeLinear" || !isStandard(dq)) continue;
    const x = dq.inputs[0] ?? "";
    const t = dq.outputs[0] ?? "";
    const w = consts.get(x);
    if (w) {
      const codes = { name: x, annotation: annotations.get(x), values: INTEGER_TYPES.has(w.dtype) ? tensorToFloat64(w) : undefined };
      const spec = specOf(dq, w.dtype, w.dims.map(Number), consts, codes, notes);
      if (typeof spec === "string") unmatched.push({ node: dq, reason: spec });
      else {
        weights.set(t, { spec, dequantize: dq, values: w, valuesName: x });
        used.add(dq);
      }
      continue;
    }
    const q = producer.get(x);
    if (q?.opType !== "QuantizeLinear" || !isStandard(q)) {
      unmatched.push({ node: dq, reason: "input is neither a constant nor a QuantizeLinear output" });
      continue;
    }
    if (inSubgraphs.has(x) || inSubgraphs.has(q.inputs[0] ?? "")) {
      unmatched.push({ node: dq, reason: "a subgraph reads the value it quantizes" });
      continue;
    }
    if ((consumers.get(x) ?? []).length !== 1) {
      unmatched.push({ node: dq, reason: "its QuantizeLinear output has other readers" });
      continue;
    }
    if (!sameParams(q, dq, consts)) {
      unmatched.push({ node: dq, reason: "QuantizeLinear and DequantizeLinear parameters differ" });
      continue;
    }
    const zName = q.inputs[2] ?? "";
    const dtype = zName ? (consts.get(zName)?.dtype ?? DataType.UINT8) : DataType.UINT8;
    const spec = specOf(dq, dtype, undefined, consts, { name: x, annotation: annotations.get(x) }, notes);
    if (typeof spec === "string" || (spec.kind !== "affine" && spec.kind !== "float")) {
      unmatched.push({ node: dq, reason: typeof spec === "string" ? spec : "blocked activation quantization" });
      continue;
    }
    activations.set(t, { spec, quantize: q, dequantize: dq, source: q.inputs[0] ?? "" });
    used.add(q).add(dq);
  }
  for (const n of g.nodes) {
    if ((n.opType === "QuantizeLinear" || n.opType === "DequantizeLinear") && isStandard(n) && !used.has(n) && !unmatched.some((u) => u.node === n)) {
      unmatched.push({ node: n, reason: "QuantizeLinear whose output is not only dequantized" });
    }
  }
  return { activations, weights, unmatched, notes };
}

/** Float value of a weight, computed as DequantizeLinear does: float32((W − z)·s). */
function dequantizeWeight(name: string, w: ImportedWeight): Tensor {
  const dims = w.values.dims.map(Number);
  if (w.spec.kind === "float") return makeFloatTensor(name, dims, decodeFloatWeight(tensorBytes(w.values), dims, w.spec));
  return makeFloatTensor(name, dims, dequantizeWithSpec(tensorToFloat64(w.values), dims, w.spec));
}

export interface StrippedQdq {
  /** The float graph, with `quant` holding the imported specs by value name. */
  readonly graph: Graph;
  readonly view: QdqView;
}

/**
 * Removes the recognised Q/DQ nodes: activations become plain float values
 * carrying their spec, weights become float constants carrying theirs.
 */
export function stripQdq(g: Graph, view: QdqView = readQdq(g)): StrippedQdq {
  const graphInputs = new Set(g.inputs.map((v) => v.name));
  const graphOutputs = new Set(g.outputs.map((v) => v.name));
  const drop = new Set<Node>();
  const rename = new Map<string, string>(); // value → surviving name
  const quant = new Map<string, QuantSpec>(g.quant ?? []);
  for (const [t, a] of view.activations) {
    // f → Q → DQ → t becomes one value; the graph's own input/output names survive.
    if (graphInputs.has(a.source) && graphOutputs.has(t)) continue;
    const keep = graphInputs.has(a.source) ? a.source : t;
    rename.set(keep === t ? a.source : t, keep);
    quant.set(keep, a.spec);
    drop.add(a.quantize).add(a.dequantize);
  }
  const floatWeights: Tensor[] = [];
  for (const [t, w] of view.weights) {
    floatWeights.push(dequantizeWeight(t, w));
    quant.set(t, w.spec);
    drop.add(w.dequantize);
  }
  const nodes = g.nodes
    .filter((n) => !drop.has(n))
    .map((n) => {
      const inputs = n.inputs.map((i) => rename.get(i) ?? i);
      const outputs = n.outputs.map((o) => rename.get(o) ?? o);
      return inputs.some((v, k) => v !== n.inputs[k]) || outputs.some((v, k) => v !== n.outputs[k]) ? { ...n, inputs, outputs } : n;
    });
  // Integer constants and Q/DQ parameters that nothing reads any more go.
  const read = valuesRead({ ...g, nodes });
  const initializers = [...g.initializers.filter((t) => read.has(t.name ?? "")), ...floatWeights];
  const live = nodes.filter((n) => n.opType !== "Constant" || n.outputs.some((o) => read.has(o)));
  // The formats now live in `quant`: their annotations go (the writer writes them again).
  const formatted = new Set([...view.activations.keys(), ...view.weights.keys(), ...rename.values()]);
  const graph = pruneQuantAnnotations({ ...g, nodes: live, initializers, quant }, formatted, FORMAT_KEYS);
  return { graph, view };
}
