/**
 * What the planner needs to know about each value before it may quantize it:
 * its element type, and whether it carries data or only shapes.
 *
 * - Element type: from shape/type inference (ir/infer-types.ts); where that
 *   has no rule, from the dtype rules below (most ops keep their first
 *   input's type, comparisons give bool, index ops int64, ConstantOfShape its
 *   value's type; Cast, Q/DQ, control flow and custom ops have no rule);
 *   `probedValueKinds` asks ONNX Runtime for whatever is still unknown. Only
 *   float32, float16 and bfloat16 values are ever quantized.
 * - Shape-derived: a value computed from tensor shapes and constants only
 *   (a Shape/Size output, and everything computed from such values and
 *   constants without reading a graph input's data). Such values are shape
 *   arithmetic (reshape targets, sizes, masks built by ConstantOfShape): they
 *   are never quantized, even when they are float (Cast → Div → Cast chains).
 *   Data(v) = v is a graph input, or v = op(…) with op ∉ {Shape, Size} and
 *   some input Data; ShapeDerived(v) = ¬Data(v) ∧ some input of its node is
 *   ShapeDerived or the node is Shape/Size.
 */
import { DataType } from "../ir/dtype.js";
import type { Graph, Model, Node, TensorType } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { probeTypes } from "../runtime/probe-types.js";

export interface ValueKinds {
  /** ONNX element type of each value, where known. */
  readonly dtype: ReadonlyMap<string, number>;
  /** Values computed from shapes and constants only. */
  readonly shapeDerived: ReadonlySet<string>;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16]);

/** True for float32, float16 and bfloat16: the element types fixq quantizes. */
export function isQuantizableType(dtype: number | undefined): boolean {
  return dtype !== undefined && FLOAT_TYPES.has(dtype);
}

const INT64_OUT = new Set(["ArgMax", "ArgMin", "NonZero", "NonMaxSuppression", "Shape", "Size"]);
const BOOL_OUT = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "IsNaN", "IsInf"]);
/** Ops whose output type no simple rule gives (fixed by attributes or subgraphs): left to inference and ONNX Runtime. */
const NO_RULE = new Set(["Cast", "CastLike", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "If", "Loop", "Scan", "Constant", "RandomNormal", "RandomUniform", "Multinomial", "Bernoulli"]);

function attrInt(n: Node, name: string): number | undefined {
  const a = n.attributes.find((x) => x.name === name);
  return a?.i !== undefined ? Number(a.i) : undefined;
}

/**
 * Element types of a node's outputs that inference left unknown: most ONNX
 * ops give every output their first input's type; the exceptions are listed.
 */
function fallbackTypes(n: Node, dtype: (v: string) => number | undefined): (number | undefined)[] {
  if (((n.domain ?? "") !== "" && n.domain !== "ai.onnx") || NO_RULE.has(n.opType)) return [];
  if (INT64_OUT.has(n.opType)) return [DataType.INT64];
  if (BOOL_OUT.has(n.opType)) return [DataType.BOOL];
  const first = dtype(n.inputs[0] ?? "");
  switch (n.opType) {
    case "TopK":
    case "MaxPool":
    case "Unique":
      return [first, DataType.INT64, DataType.INT64, DataType.INT64];
    case "Dropout":
      return [first, DataType.BOOL];
    case "Where":
      return [dtype(n.inputs[1] ?? "")];
    case "ConstantOfShape":
      return [n.attributes.find((a) => a.name === "value")?.t?.dtype ?? DataType.FLOAT];
    case "EyeLike":
    case "RandomNormalLike":
    case "RandomUniformLike":
      return [attrInt(n, "dtype") ?? first];
    default:
      return n.outputs.map(() => first);
  }
}

/** Value kinds of `g` from inference and the dtype rules above (no ONNX Runtime). `types` may supply a completed type table. */
export function valueKinds(g: Graph, types: ReadonlyMap<string, TensorType> = inferTypes(g)): ValueKinds {
  const dtype = new Map<string, number>();
  for (const [name, t] of types) if (t.dtype) dtype.set(name, t.dtype);
  const inits = new Set(g.initializers.map((t) => t.name));
  const data = new Set(g.inputs.filter((v) => !inits.has(v.name)).map((v) => v.name));
  const shapeDerived = new Set<string>();
  for (const n of g.nodes) {
    fallbackTypes(n, (v) => dtype.get(v)).forEach((t, i) => {
      const o = n.outputs[i];
      if (o && t && !dtype.has(o)) dtype.set(o, t);
    });
    const outs = n.outputs.filter((o) => o !== "");
    const hasSubgraph = n.attributes.some((a) => a.g || a.graphs?.length);
    if (n.opType === "Shape" || n.opType === "Size") for (const o of outs) shapeDerived.add(o);
    else if (hasSubgraph || n.inputs.some((i) => data.has(i))) for (const o of outs) data.add(o);
    else if (n.inputs.some((i) => shapeDerived.has(i))) for (const o of outs) shapeDerived.add(o);
  }
  return { dtype, shapeDerived };
}

/**
 * Value kinds with the element types inference cannot tell filled in by
 * running the model in ONNX Runtime (runtime/probe-types.ts). A model ORT
 * cannot run on a made-up input keeps what inference knows: values of unknown
 * type are then left float by the planner.
 */
export async function probedValueKinds(model: Model): Promise<ValueKinds> {
  const g = model.graph!;
  const kinds = valueKinds(g);
  const unknown = g.nodes.some((n) => n.outputs.some((o) => o !== "" && !kinds.dtype.has(o)));
  if (!unknown) return kinds;
  try {
    return valueKinds(g, await probeTypes(model));
  } catch {
    return kinds;
  }
}
