/**
 * A small ONNX graph builder for the integer-only export: fresh value names,
 * nodes, and constant initializers of the integer types (deduplicated by
 * type, dims and contents, so a per-tensor constant used by many ops is
 * stored once). Values are written little-endian as raw_data.
 */
import { DataType } from "../../ir/dtype.js";
import { type AnnotationEntries, withQuantAnnotations } from "../../ir/annotations.js";
import type { Attribute, Model, Node, ValueInfo } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { NameSet } from "../../ir/names.js";
import { typeProtoOf } from "../../ir/types.js";

/** Constant values: numbers, or bigints for 64-bit types. */
export type ConstValues = ArrayLike<number> | readonly bigint[];

function rawBytes(dtype: number, values: ConstValues): Uint8Array {
  const n = values.length;
  const num = (i: number) => Number(values[i]);
  switch (dtype) {
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.UINT16:
    case DataType.INT16:
    case DataType.INT32:
    case DataType.UINT32:
    case DataType.FLOAT: {
      const Ctor = {
        [DataType.UINT8]: Uint8Array,
        [DataType.INT8]: Int8Array,
        [DataType.UINT16]: Uint16Array,
        [DataType.INT16]: Int16Array,
        [DataType.INT32]: Int32Array,
        [DataType.UINT32]: Uint32Array,
        [DataType.FLOAT]: Float32Array,
      }[dtype];
      const a = new Ctor(n);
      for (let i = 0; i < n; i++) a[i] = num(i);
      return new Uint8Array(a.buffer);
    }
    case DataType.INT64:
    case DataType.UINT64: {
      const a = new BigUint64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt.asUintN(64, BigInt(values[i]!));
      return new Uint8Array(a.buffer);
    }
    default:
      throw new RangeError(`onnx-int builder: no constant encoding for dtype ${dtype}`);
  }
}

export function intAttr(name: string, v: number): Attribute {
  return { name, type: 2, i: v };
}
export function intsAttr(name: string, v: readonly number[]): Attribute {
  return { name, type: 7, ints: [...v] };
}
export function stringAttr(name: string, v: string): Attribute {
  return { name, type: 3, s: new TextEncoder().encode(v) };
}

export function valueInfo(name: string, dtype: number, shape: readonly (number | string)[]): ValueInfo {
  return { name, type: typeProtoOf({ dtype, shape }) };
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private readonly names = new NameSet();
  private readonly constants = new Map<string, string>();
  /** quantization_annotation entries by tensor name (ir/annotations.ts). */
  private readonly annotations = new Map<string, AnnotationEntries>();

  /** Records the exact format of a tensor in the model's quantization_annotation. */
  annotate(name: string, entries: AnnotationEntries): void {
    this.annotations.set(name, entries);
  }

  /** Names already taken (graph inputs and outputs) so that fresh names avoid them. */
  reserve(name: string): void {
    this.names.reserve(name);
  }

  /** A fresh name from `base`, its characters outside [\w./:-] replaced by "_". */
  fresh(base: string): string {
    return this.names.fresh(base.replace(/[^\w./:-]+/g, "_") || "v");
  }

  /** An initializer holding `values`; identical constants are shared. */
  constant(dtype: number, dims: readonly number[], values: ConstValues, hint = "c"): string {
    const raw = rawBytes(dtype, values);
    const key = `${dtype}|${dims.join(",")}|${Buffer.from(raw).toString("base64")}`;
    const have = this.constants.get(key);
    if (have) return have;
    const name = this.fresh(hint);
    this.initializers.push({ name, dtype, dims: [...dims], raw });
    this.constants.set(key, name);
    return name;
  }

  scalar(dtype: number, v: number | bigint, hint = "c"): string {
    return this.constant(dtype, [], [v] as ConstValues, hint);
  }

  /** Adds a node writing one fresh output (or `output` when given); returns the output name. */
  op(opType: string, inputs: readonly string[], attributes: Attribute[] = [], hint = opType, output?: string): string {
    const out = output ?? this.fresh(hint);
    this.nodes.push({ opType, inputs: [...inputs], outputs: [out], attributes, name: this.fresh(`${hint}#node`) });
    return out;
  }

  model(inputs: ValueInfo[], outputs: ValueInfo[], opset = 21, docString?: string): Model {
    return {
      irVersion: 10,
      opsets: [{ domain: "", version: opset }],
      producerName: "fixq",
      docString,
      graph: withQuantAnnotations({ name: "fixq_integer", nodes: this.nodes, inputs, outputs, valueInfo: [], initializers: this.initializers }, this.annotations),
      functions: [],
    };
  }
}
