/** ONNX Runtime as a judge: tiny Cast models run in onnxruntime-node. */
import { DataType } from "../../src/ir/dtype.js";
import type { Attribute, Model } from "../../src/ir/graph.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { graph, int, model, node, value } from "../ir/builders.js";

export function str(name: string, s: string): Attribute {
  return { name, type: 3, s: new TextEncoder().encode(s) };
}

/** Opset and IR version that have the type (E8M0 needs Cast-24). */
function versions(to: number): { opset: number; ir: number } {
  return to === DataType.FLOAT8E8M0 ? { opset: 24, ir: 11 } : { opset: 19, ir: 9 };
}

function withIr(m: Model, ir: number): Model {
  return { ...m, irVersion: ir };
}

async function runFloat(m: Model, feeds: Record<string, Float32Array>): Promise<Float32Array> {
  const s = await OrtSession.create(m, { threads: 1 });
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { dtype: DataType.FLOAT, dims: [v.length], data: v }]));
    const out = await s.run(inputs);
    return out["z"]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/**
 * float32 → `to` → float32 in ORT: `Cast(to, saturate, round_mode)` then
 * `Cast(FLOAT)`. onnxruntime-node cannot return FP8 or BF16 tensors, so the
 * codes come back decoded.
 */
export async function ortCastRoundTrip(x: Float32Array, to: number, attrs: Attribute[] = []): Promise<Float32Array> {
  const { opset, ir } = versions(to);
  const g = graph(
    [node("Cast", ["x"], ["y"], [int("to", to), ...attrs]), node("Cast", ["y"], ["z"], [int("to", DataType.FLOAT)])],
    [value("x", DataType.FLOAT, ["N"])],
    [value("z", DataType.FLOAT, ["N"])],
  );
  return runFloat(withIr(model(g, opset), ir), { x });
}

/** Every code of an 8-bit (or 16-bit) type decoded by ORT: the codes as an initializer, cast to FLOAT. */
export async function ortDecodeAll(to: number, bits: 8 | 16): Promise<Float32Array> {
  const { opset, ir } = versions(to);
  const n = 2 ** bits;
  const raw = bits === 8 ? Uint8Array.from({ length: n }, (_, i) => i) : new Uint8Array(Uint16Array.from({ length: n }, (_, i) => i).buffer);
  const g = graph(
    [node("Cast", ["c"], ["z"], [int("to", DataType.FLOAT)])],
    [],
    [value("z", DataType.FLOAT, [n])],
    [{ name: "c", dtype: to, dims: [n], raw }],
  );
  return runFloat(withIr(model(g, opset), ir), {});
}

/** float32 → float16 codes in ORT (onnxruntime-node returns float16 tensors as Uint16Array). */
export async function ortCastToFloat16(x: Float32Array): Promise<Uint16Array> {
  const g = graph(
    [node("Cast", ["x"], ["z"], [int("to", DataType.FLOAT16)])],
    [value("x", DataType.FLOAT, ["N"])],
    [value("z", DataType.FLOAT16, ["N"])],
  );
  const s = await OrtSession.create(withIr(model(g, 19), 9), { threads: 1 });
  try {
    const out = await s.run({ x: { dtype: DataType.FLOAT, dims: [x.length], data: x } });
    return out["z"]!.data as Uint16Array;
  } finally {
    await s.release();
  }
}
