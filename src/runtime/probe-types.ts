/**
 * Fallback shape inference by running the model: values that the static rules
 * (ir/infer-types.ts) leave untyped are exposed as extra outputs and computed
 * by onnxruntime on a sample input. The model is run twice with different
 * sizes for the symbolic input dims (a leading batch dim: 1 then 2; other dims:
 * 64 then 96, multiples of 32 that strided nets accept and that stay distinct
 * after several stride-2 stages). A dim that differs between the runs is marked
 * unknown, so only facts true for any input size are recorded.
 */
import { DataType } from "../ir/dtype.js";
import type { Dim, Model, TensorType } from "../ir/graph.js";
import { inferTypes, untypedValues } from "../ir/infer-types.js";
import { tensorTypeOf } from "../ir/types.js";
import { type HostTensor, OrtSession } from "./ort-session.js";

const PROBE_SIZES = [
  { batch: 1, other: 64 },
  { batch: 2, other: 96 },
];

function sampleFeed(dtype: number, shape: readonly Dim[], sizes: (typeof PROBE_SIZES)[number]): HostTensor {
  const dims = shape.map((d, i) => (typeof d === "number" ? d : i === 0 ? sizes.batch : sizes.other));
  const n = dims.reduce((a, b) => a * b, 1);
  let data: HostTensor["data"];
  switch (dtype) {
    case DataType.INT64:
      data = new BigInt64Array(n);
      break;
    case DataType.INT32:
      data = new Int32Array(n);
      break;
    case DataType.BOOL:
    case DataType.UINT8:
      data = new Uint8Array(n);
      break;
    case DataType.INT8:
      data = new Int8Array(n);
      break;
    default:
      data = new Float32Array(n).fill(0.5);
  }
  return { dtype, dims, data };
}

/**
 * Returns static types completed by probing. `feeds` may supply real inputs;
 * otherwise constant samples are made from the declared input types.
 */
export async function probeTypes(model: Model, feeds?: Record<string, HostTensor>): Promise<Map<string, TensorType>> {
  const g = model.graph;
  const types = g ? inferTypes(g) : new Map<string, TensorType>();
  if (!g) return types;
  const missing = untypedValues(g, types);
  if (missing.length === 0) return types;
  const inits = new Set(g.initializers.map((t) => t.name));
  const runs: Record<string, HostTensor>[] = [];
  const session = await OrtSession.create(model, { extraOutputs: missing, optimization: "disabled", threads: 1 });
  try {
    for (const sizes of feeds ? [PROBE_SIZES[0]!] : PROBE_SIZES) {
      const f: Record<string, HostTensor> = {};
      if (feeds) Object.assign(f, feeds);
      else {
        for (const v of g.inputs) {
          if (inits.has(v.name)) continue;
          const t = tensorTypeOf(v.type);
          if (!t?.shape) return types; // cannot make a sample without a shape
          f[v.name] = sampleFeed(t.dtype, t.shape, sizes);
        }
      }
      runs.push(await session.run(f, missing));
    }
  } finally {
    await session.release();
  }
  for (const name of missing) {
    const a = runs[0]?.[name];
    if (!a) continue;
    const b = runs[1]?.[name];
    const shape = a.dims.map((d, i) => (b === undefined || b.dims[i] === d ? d : undefined));
    types.set(name, { dtype: a.dtype, shape: b && b.dims.length !== a.dims.length ? undefined : shape });
  }
  return types;
}
