/**
 * Proof that an exported graph is integer-only: a walk over its nodes in
 * order that derives every value's element type from the op's ONNX typing
 * rule (never from annotations the exporter wrote) and checks that
 *   - every op is in the integer op list below, in the default domain, with
 *     no subgraphs;
 *   - float appears only at the boundary: graph inputs (other than int64
 *     ones: ids, masks) read only by QuantizeLinear, float32 scale constants read only as Q/DQ scales, and
 *     DequantizeLinear outputs that are graph outputs and read by no node;
 *   - every other value (inputs and outputs of every op) is an integer type.
 * Returns the problems found; an empty list is the proof. `ortKernelHazards`
 * separately lists integer ops measured inexact in ONNX Runtime.
 */
import { attrInt } from "../../ir/attrs.js";
import { DataType, dtypeName } from "../../ir/dtype.js";
import type { Graph, Model, Node } from "../../ir/graph.js";
import { tensorTypeOf } from "../../ir/types.js";

const INTEGER = new Set<number>([
  DataType.UINT8,
  DataType.INT8,
  DataType.UINT16,
  DataType.INT16,
  DataType.INT32,
  DataType.INT64,
  DataType.UINT32,
  DataType.UINT64,
  DataType.UINT4,
  DataType.INT4,
]);
const BYTE = new Set<number>([DataType.UINT8, DataType.INT8]);
const UNSIGNED = new Set<number>([DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64]);

/** Ops whose inputs all share one integer type, which is also the output's. */
const ELEMENTWISE = new Set(["Add", "Sub", "Mul", "Div", "Mod", "Max", "Min", "BitShift", "Abs", "Neg", "Sign", "Identity"]);
/** Ops that move or select integers: the output has input 0's type; index/shape inputs are int64. */
const MOVEMENT: Readonly<Record<string, { sameType: number[]; int64: number[] }>> = {
  Reshape: { sameType: [], int64: [1] },
  Transpose: { sameType: [], int64: [] },
  Concat: { sameType: [-1], int64: [] },
  Pad: { sameType: [2], int64: [1, 3] },
  Slice: { sameType: [], int64: [1, 2, 3, 4] },
  MaxPool: { sameType: [], int64: [] },
  ReduceSum: { sameType: [], int64: [1] },
  ReduceMax: { sameType: [], int64: [1] },
  Gather: { sameType: [], int64: [1] },
  Clip: { sameType: [1, 2], int64: [] },
};
/** The integer op list. */
export const INTEGER_OPS: readonly string[] = ["QuantizeLinear", "DequantizeLinear", "ConvInteger", "MatMulInteger", "Cast", ...ELEMENTWISE, ...Object.keys(MOVEMENT)];

function typeName(t: number | undefined): string {
  return t === undefined ? "unknown" : dtypeName(t);
}

export interface IntegerOnlyReport {
  /** Empty = proven integer-only. */
  readonly problems: string[];
  /** Every value's element type as derived by the walk. */
  readonly types: ReadonlyMap<string, number>;
}

export function verifyIntegerOnly(model: Model): string[] {
  return integerOnlyReport(model).problems;
}

export function integerOnlyReport(model: Model): IntegerOnlyReport {
  const g = model.graph;
  if (!g) return { problems: ["the model has no graph"], types: new Map() };
  return analyze(g);
}

/**
 * Integer kernels measured inexact in ONNX Runtime 1.30 on some CPU (an x86
 * AVX2 CPU without VNNI), which an exported graph must not use, since it may
 * be deployed on such a CPU:
 * MatMulInteger with uint8 A and int8 B (int16 pair sums saturate), and
 * int64 Max/Min/Clip/Sign (wrong when both operands share their upper 32
 * bits and differ in bit 31 of the lower word). Returns the nodes that do.
 */
export function ortKernelHazards(model: Model): string[] {
  const g = model.graph;
  if (!g) return [];
  const { types } = analyze(g);
  const out: string[] = [];
  for (const n of g.nodes) {
    const t = n.inputs.map((i) => types.get(i));
    if (n.opType === "MatMulInteger" && t[0] === DataType.UINT8 && t[1] === DataType.INT8) out.push(`MatMulInteger '${n.name ?? n.outputs[0]}': uint8 × int8 saturates int16 pair sums`);
    if (["Max", "Min", "Clip", "Sign"].includes(n.opType) && t[0] === DataType.INT64) out.push(`${n.opType} '${n.name ?? n.outputs[0]}': int64 comparisons are miscomputed`);
  }
  return out;
}

function analyze(g: Graph): IntegerOnlyReport {
  const problems: string[] = [];
  const types = new Map<string, number>();
  const graphInputs = new Set(g.inputs.map((v) => v.name));
  const graphOutputs = new Set(g.outputs.map((v) => v.name));
  const floatScales = new Set<string>();
  const dqOutputs = new Set<string>();
  for (const t of g.initializers) {
    if (!t.name) continue;
    types.set(t.name, t.dtype);
    if (t.dtype === DataType.FLOAT) floatScales.add(t.name);
    else if (!INTEGER.has(t.dtype)) problems.push(`constant '${t.name}' is ${typeName(t.dtype)}`);
  }
  for (const v of g.inputs) {
    if (types.has(v.name)) continue;
    const dt = tensorTypeOf(v.type)?.dtype;
    // integer inputs (ids, masks) are integers from the start
    if (dt === DataType.INT64) {
      types.set(v.name, dt);
      continue;
    }
    if (dt !== DataType.FLOAT) problems.push(`graph input '${v.name}' is ${typeName(dt)}, not float32 or int64`);
    types.set(v.name, DataType.FLOAT);
  }
  const readers = new Map<string, { node: Node; slot: number }[]>();
  for (const n of g.nodes) {
    n.inputs.forEach((i, slot) => {
      if (i) readers.set(i, [...(readers.get(i) ?? []), { node: n, slot }]);
    });
  }

  const label = (n: Node) => `${n.opType} '${n.name ?? n.outputs[0]}'`;
  for (const n of g.nodes) {
    const where = label(n);
    if ((n.domain ?? "") !== "" && n.domain !== "ai.onnx") problems.push(`${where}: custom domain '${n.domain}'`);
    if (n.attributes.some((a) => a.g || a.graphs?.length)) problems.push(`${where}: has a subgraph`);
    if (!INTEGER_OPS.includes(n.opType)) {
      problems.push(`${where}: ${n.opType} is not in the integer op list`);
      for (const o of n.outputs) types.set(o, DataType.UNDEFINED);
      continue;
    }
    const inT = n.inputs.map((i) => (i ? types.get(i) : undefined));
    const need = (slot: number, ok: (t: number) => boolean, what: string) => {
      const name = n.inputs[slot];
      if (!name) return;
      const t = inT[slot];
      if (t === undefined) problems.push(`${where}: input '${name}' is used before it is defined`);
      else if (!ok(t)) problems.push(`${where}: input ${slot} '${name}' is ${typeName(t)}, expected ${what}`);
    };
    const isInt = (t: number) => INTEGER.has(t);
    let out: number | undefined;
    switch (n.opType) {
      case "QuantizeLinear": {
        const x = n.inputs[0]!;
        if (!graphInputs.has(x)) problems.push(`${where}: quantizes '${x}', which is not a graph input`);
        need(0, (t) => t === DataType.FLOAT, "float32");
        need(1, (t) => t === DataType.FLOAT, "a float32 scale");
        if (!n.inputs[2]) problems.push(`${where}: no zero point (its output type would be implicit)`);
        need(2, isInt, "an integer zero point");
        out = n.inputs[2] ? types.get(n.inputs[2]) : undefined;
        if (n.attributes.some((a) => a.name === "output_dtype")) problems.push(`${where}: output_dtype is not supported by this check`);
        break;
      }
      case "DequantizeLinear":
        need(0, isInt, "integer");
        need(1, (t) => t === DataType.FLOAT, "a float32 scale");
        need(2, isInt, "an integer zero point");
        out = DataType.FLOAT;
        for (const o of n.outputs) {
          dqOutputs.add(o);
          if (!graphOutputs.has(o)) problems.push(`${where}: output '${o}' is not a graph output`);
          if (readers.has(o)) problems.push(`${where}: output '${o}' is read by ${label(readers.get(o)![0]!.node)}`);
        }
        break;
      case "ConvInteger":
      case "MatMulInteger":
        need(0, (t) => BYTE.has(t), "uint8 or int8");
        need(1, (t) => BYTE.has(t), "uint8 or int8");
        need(2, (t) => t === inT[0], typeName(inT[0]));
        need(3, (t) => t === inT[1], typeName(inT[1]));
        out = DataType.INT32;
        break;
      case "Cast": {
        need(0, isInt, "integer");
        const to = attrInt(n, "to", DataType.UNDEFINED);
        if (!isInt(to)) problems.push(`${where}: casts to ${typeName(to)}`);
        out = to;
        break;
      }
      default:
        if (ELEMENTWISE.has(n.opType)) {
          for (let k = 0; k < n.inputs.length; k++) need(k, (t) => isInt(t) && t === inT[0], `integer ${typeName(inT[0])}`);
          if (n.opType === "BitShift") need(0, (t) => UNSIGNED.has(t), "unsigned (ONNX BitShift)");
        } else {
          const rule = MOVEMENT[n.opType]!;
          need(0, isInt, "integer");
          n.inputs.forEach((_, k) => {
            if (k === 0) return;
            if (rule.int64.includes(k)) need(k, (t) => t === DataType.INT64, "int64");
            else if (rule.sameType.includes(k) || rule.sameType.includes(-1)) need(k, (t) => t === inT[0], typeName(inT[0]));
            else problems.push(`${where}: unexpected input ${k}`);
          });
        }
        out = inT[0];
    }
    for (const o of n.outputs) if (o) types.set(o, out ?? DataType.UNDEFINED);
  }

  for (const [name, rs] of readers) {
    if (types.get(name) !== DataType.FLOAT) continue;
    for (const { node, slot } of rs) {
      const boundary = (node.opType === "QuantizeLinear" && slot === 0 && graphInputs.has(name)) || ((node.opType === "QuantizeLinear" || node.opType === "DequantizeLinear") && slot === 1 && floatScales.has(name));
      if (!boundary) problems.push(`${label(node)}: reads float value '${name}' in input ${slot}`);
    }
  }
  for (const name of floatScales) if (!readers.has(name)) problems.push(`float constant '${name}' is not read`);
  for (const v of g.outputs) {
    const t = types.get(v.name);
    if (t === undefined) problems.push(`graph output '${v.name}' is not computed`);
    else if (t === DataType.FLOAT ? !dqOutputs.has(v.name) : !INTEGER.has(t)) problems.push(`graph output '${v.name}' is ${typeName(t)}, not a DequantizeLinear output or an integer`);
    const declared = tensorTypeOf(v.type)?.dtype;
    if (declared !== undefined && t !== undefined && declared !== t) problems.push(`graph output '${v.name}' is declared ${typeName(declared)} but computed as ${typeName(t)}`);
  }
  return { problems, types };
}
