/** Helpers between ONNX TypeProto and the IR's TensorType. */
import type { Dim, TensorType, TypeProto } from "./graph.js";
import type { ProtoMessage } from "./onnx/codec.js";

/** The tensor type a TypeProto describes, or undefined for non-tensor or missing types. */
export function tensorTypeOf(type: TypeProto | undefined): TensorType | undefined {
  const tt = type?.["tensor_type"] as ProtoMessage | undefined;
  if (!tt) return undefined;
  const shape = tt["shape"] as ProtoMessage | undefined;
  const dims = shape ? ((shape["dim"] as ProtoMessage[] | undefined) ?? []) : undefined;
  return {
    dtype: (tt["elem_type"] as number | undefined) ?? 0,
    shape: dims?.map((d): Dim => {
      const v = d["dim_value"];
      if (v !== undefined) return Number(v);
      const p = d["dim_param"] as string | undefined;
      return p === "" ? undefined : p;
    }),
  };
}

export function typeProtoOf(t: TensorType): TypeProto {
  const tensor: ProtoMessage = { elem_type: t.dtype };
  if (t.shape) {
    tensor["shape"] = {
      dim: t.shape.map((d): ProtoMessage => (typeof d === "number" ? { dim_value: d } : typeof d === "string" ? { dim_param: d } : {})),
    };
  }
  return { tensor_type: tensor };
}

export function formatShape(shape: readonly Dim[] | undefined): string {
  if (!shape) return "[?]";
  return `[${shape.map((d) => (d === undefined ? "?" : String(d))).join(",")}]`;
}
