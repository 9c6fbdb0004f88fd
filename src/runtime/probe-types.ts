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
import { inferTypes } from "../ir/infer-types.js";
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

/** What probing did, for `inspect --probe` to say. */
export interface ProbeReport {
  /** Static types completed by probing. */
  readonly types: Map<string, TensorType>;
  /** Values whose type or dims the probe filled in. */
  readonly filled: readonly string[];
  /** Values probed that stay partly unknown (their size depends on the input's). */
  readonly inputDependent: readonly string[];
  /** The input dims of each run (one run when every input dim is known). */
  readonly runs: readonly Record<string, readonly number[]>[];
}

/** A shape with a dim that static inference left unknown (not symbolic). */
function incomplete(t: TensorType | undefined): boolean {
  return !t?.shape || t.shape.some((d) => d === undefined);
}

/**
 * Static types completed by probing, and what was filled in. Values with no
 * type or with unknown dims are exposed; a dim static inference knows
 * (a number or a symbolic name) is kept, an unknown one takes the probed
 * size when both runs agree on it. With every input dim known (pinned),
 * one run is made. `feeds` may supply real inputs (then one run).
 */
export async function probeShapes(model: Model, feeds?: Record<string, HostTensor>): Promise<ProbeReport> {
  const g = model.graph;
  const types = g ? inferTypes(g) : new Map<string, TensorType>();
  const empty: ProbeReport = { types, filled: [], inputDependent: [], runs: [] };
  if (!g) return empty;
  const missing = [...new Set(g.nodes.flatMap((n) => n.outputs).filter((o) => o && incomplete(types.get(o))))];
  if (missing.length === 0) return empty;
  const inits = new Set(g.initializers.map((t) => t.name));
  const inputs = g.inputs.filter((v) => !inits.has(v.name)).map((v) => ({ name: v.name, t: tensorTypeOf(v.type) }));
  if (!feeds && inputs.some(({ t }) => !t?.shape)) return empty; // cannot make a sample without a shape
  const allKnown = inputs.every(({ t }) => t?.shape?.every((d) => typeof d === "number"));
  const runs: Record<string, HostTensor>[] = [];
  const fedDims: Record<string, readonly number[]>[] = [];
  const session = await OrtSession.create(model, { extraOutputs: missing, optimization: "disabled", threads: 1 });
  try {
    for (const sizes of feeds || allKnown ? [PROBE_SIZES[0]!] : PROBE_SIZES) {
      const f: Record<string, HostTensor> = {};
      if (feeds) Object.assign(f, feeds);
      else for (const { name, t } of inputs) f[name] = sampleFeed(t!.dtype, t!.shape!, sizes);
      fedDims.push(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.dims])));
      runs.push(await session.run(f, missing));
    }
  } finally {
    await session.release();
  }
  const filled: string[] = [];
  const inputDependent: string[] = [];
  for (const name of missing) {
    const a = runs[0]?.[name];
    if (!a) continue;
    const b = runs[1]?.[name];
    const known = types.get(name)?.shape;
    const sameRank = !b || b.dims.length === a.dims.length;
    const shape = sameRank
      ? a.dims.map((d, i): Dim => (known?.length === a.dims.length && known[i] !== undefined ? known[i] : b === undefined || b.dims[i] === d ? d : undefined))
      : undefined;
    const unknowns = (t: TensorType | undefined) => (t?.shape ? t.shape.filter((d) => d === undefined).length : Number.POSITIVE_INFINITY);
    const before = types.get(name);
    const after = { dtype: before?.dtype || a.dtype, shape };
    types.set(name, after);
    if (!before || unknowns(after) < unknowns(before)) filled.push(name);
    if (incomplete(after)) inputDependent.push(name);
  }
  return { types, filled, inputDependent, runs: fedDims };
}

/**
 * Returns static types completed by probing. `feeds` may supply real inputs;
 * otherwise constant samples are made from the declared input types.
 */
export async function probeTypes(model: Model, feeds?: Record<string, HostTensor>): Promise<Map<string, TensorType>> {
  return (await probeShapes(model, feeds)).types;
}
