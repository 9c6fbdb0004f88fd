/** Runs one-node (or small) ONNX graphs in ONNX Runtime for the kernel measurements. */
import { GraphBuilder, valueInfo } from "../../../src/backends/onnx-int/builder.js";
import { DataType } from "../../../src/ir/dtype.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";

export interface Feed {
  readonly name: string;
  readonly dtype: number;
  readonly dims: number[];
  readonly data: ArrayLike<number | bigint>;
}

const ARRAYS: Record<number, (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint }> = {
  [DataType.UINT8]: (n) => new Uint8Array(n),
  [DataType.INT8]: (n) => new Int8Array(n),
  [DataType.UINT16]: (n) => new Uint16Array(n),
  [DataType.INT16]: (n) => new Int16Array(n),
  [DataType.INT32]: (n) => new Int32Array(n),
  [DataType.INT64]: (n) => new BigInt64Array(n),
  [DataType.UINT64]: (n) => new BigUint64Array(n),
  [DataType.FLOAT]: (n) => new Float32Array(n),
};

/** A typed array of `dtype` holding `values` (which must fit). */
export function typed(dtype: number, values: ArrayLike<number | bigint>): ArrayLike<number | bigint> {
  const a = ARRAYS[dtype]!(values.length);
  const big = dtype === DataType.INT64 || dtype === DataType.UINT64;
  for (let i = 0; i < values.length; i++) a[i] = big ? BigInt(values[i]!) : Number(values[i]!);
  return a;
}

/** Builds a graph with `build` (inputs named as the feeds, output "Y"), runs it, returns Y as bigints. */
export async function runGraph(feeds: Feed[], build: (b: GraphBuilder) => void, optimization: "all" | "disabled" = "all"): Promise<bigint[]> {
  const b = new GraphBuilder();
  for (const f of feeds) b.reserve(f.name);
  b.reserve("Y");
  build(b);
  const model = b.model(
    feeds.map((f) => valueInfo(f.name, f.dtype, f.dims)),
    [{ name: "Y" }],
  );
  const s = await OrtSession.create(model, { optimization, threads: 1 });
  try {
    const out = await s.run(Object.fromEntries(feeds.map((f) => [f.name, { dtype: f.dtype, dims: f.dims, data: typed(f.dtype, f.data) as Float32Array }])));
    return Array.from(out["Y"]!.data as ArrayLike<number | bigint>, (v) => BigInt(v));
  } finally {
    await s.release();
  }
}
