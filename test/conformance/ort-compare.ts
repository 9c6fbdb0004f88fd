/**
 * Shared by the conformance suites: runs onnxruntime-node on model bytes and
 * compares outputs bit for bit. Uses onnxruntime-node directly (not
 * OrtSession) so that ORT's own messages reach the skip lists unchanged.
 */
import * as ort from "onnxruntime-node";
import { DataType, dtypeName } from "../../src/ir/dtype.js";
import type { Graph, ValueInfo } from "../../src/ir/graph.js";
import { type Tensor, tensorBytes } from "../../src/ir/tensor.js";

// Failures are reported through the thrown errors; ORT's own log would repeat them on stderr.
ort.env.logLevel = "fatal";

/** One intra-op thread and sequential execution: outputs must not depend on scheduling. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  logSeverityLevel: 4,
};

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** An ORT message on one line, without the `[ONNXRuntimeError] : N :` prefix. */
export function ortMessage(e: unknown): string {
  const msg = String((e as Error)?.message ?? e);
  return msg
    .replace(/\s+/g, " ")
    .replace(/^\[ONNXRuntimeError\] : \d+ : /, "")
    .trim();
}

/** A short form of an ORT message for skip lists: no source paths or C++ signatures. */
export function shortReason(msg: string, n = 160): string {
  const s = msg
    .replace(/\/onnxruntime_src\/\S*\/(\S+:\d+) /g, "$1 ")
    .replace(/onnxruntime::\S*\([^)]*\)(::<lambda\(\)>)?( \[with [^\]]*\])? /g, "");
  return truncate(s, n);
}

export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** ORT tensor type names by ONNX code; other codes are passed as fixq's short name and ORT rejects them itself. */
const ORT_TYPES: Record<number, ort.Tensor.Type> = {
  [DataType.FLOAT]: "float32",
  [DataType.UINT8]: "uint8",
  [DataType.INT8]: "int8",
  [DataType.UINT16]: "uint16",
  [DataType.INT16]: "int16",
  [DataType.INT32]: "int32",
  [DataType.INT64]: "int64",
  [DataType.STRING]: "string",
  [DataType.BOOL]: "bool",
  [DataType.FLOAT16]: "float16",
  [DataType.DOUBLE]: "float64",
  [DataType.UINT32]: "uint32",
  [DataType.UINT64]: "uint64",
  [DataType.UINT4]: "uint4",
  [DataType.INT4]: "int4",
};

type TypedCtor = new (b: ArrayBuffer) => ArrayBufferView;
const CTORS: Record<string, TypedCtor> = {
  float32: Float32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
  float16: Uint16Array,
  float64: Float64Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  uint4: Uint8Array,
  int4: Int8Array,
};

/** An IR tensor as an ORT tensor. Throws ORT's own error for types the binding has no tensor for. */
export function ortTensorFromIr(t: Tensor): ort.Tensor {
  const dims = [...t.dims];
  if (t.dtype === DataType.STRING) {
    const raw = (t.extra?.["string_data"] as Uint8Array[] | undefined) ?? [];
    const dec = new TextDecoder();
    return new ort.Tensor(
      "string",
      raw.map((b) => dec.decode(b)),
      dims,
    );
  }
  const type = ORT_TYPES[t.dtype] ?? (dtypeName(t.dtype) as ort.Tensor.Type);
  const ctor = CTORS[type] ?? Uint8Array;
  // A copy: raw_data may be an unaligned view into the file.
  const bytes = new Uint8Array(tensorBytes(t)); // Buffer#slice would not copy
  return new ort.Tensor(type, new ctor(bytes.buffer) as Uint8Array, dims);
}

/** The graph inputs a caller must feed: inputs that are not initializers. */
export function feedableInputs(g: Graph): ValueInfo[] {
  const inits = new Set(g.initializers.map((t) => t.name ?? ""));
  return g.inputs.filter((i) => !inits.has(i.name));
}

/** "tensor", "sequence", "optional", "map", "sparse_tensor", ... or "unknown". */
export function typeKind(v: ValueInfo): string {
  const t = v.type ?? {};
  for (const k of Object.keys(t)) if (k.endsWith("_type")) return k.slice(0, -"_type".length);
  return "unknown";
}

export function create(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, SESSION_OPTIONS);
}

function rawView(d: ArrayBufferView): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Differences between two output sets, bit for bit (NaN payloads included). Empty when identical. */
export function compareOutputs(a: Outputs, b: Outputs): string[] {
  const diffs: string[] = [];
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const name of names) {
    const x = a[name];
    const y = b[name];
    if (!x || !y) {
      diffs.push(`output '${name}' missing on one side`);
      continue;
    }
    if (x.type !== y.type) diffs.push(`output '${name}': type ${x.type} vs ${y.type}`);
    else if (x.dims.join(",") !== y.dims.join(",")) diffs.push(`output '${name}': dims [${x.dims}] vs [${y.dims}]`);
    else if (x.type === "string") {
      const sx = x.data as string[];
      const sy = y.data as string[];
      if (sx.length !== sy.length || sx.some((s, i) => s !== sy[i])) diffs.push(`output '${name}': strings differ`);
    } else {
      const bx = rawView(x.data as ArrayBufferView);
      const by = rawView(y.data as ArrayBufferView);
      if (Buffer.compare(bx, by) !== 0) {
        let i = 0;
        while (i < bx.length && bx[i] === by[i]) i++;
        diffs.push(`output '${name}' (${x.type}): bytes differ, first at byte ${i} of ${bx.length}`);
      }
    }
  }
  return diffs;
}

/** Bytes equal? Returns a description of the first difference, or undefined. */
export function bytesDiffer(a: Uint8Array, b: Uint8Array): string | undefined {
  if (Buffer.compare(a, b) === 0) return undefined;
  let i = 0;
  const n = Math.min(a.length, b.length);
  while (i < n && a[i] === b[i]) i++;
  return `${a.length} vs ${b.length} bytes, first difference at byte ${i}`;
}
