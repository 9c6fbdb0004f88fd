/**
 * The load check every written model passes: ONNX Runtime creates a session
 * for it, at the graph optimization level the writing command reports
 * (`all` unless the model needs another: FP8 QDQ runs with optimizations off,
 * fp8-qdq.ts), before the file is renamed into place. A refusal becomes one
 * line naming the node and ORT's reason, and nothing is written.
 *
 * Formats ONNX Runtime 1.30 cannot run are not checked (the caller prints the
 * returned note): element types it has no kernels for (FLOAT4E2M1 — native
 * FP4 at opset 23 —, FLOAT8E8M0 scales, FLOAT6, INT2/UINT2), and IR versions
 * above 13, the newest it reads (measured: IR 14 is refused).
 */
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { type Model, walkGraphs } from "../ir/graph.js";
import { tensorTypeOf } from "../ir/types.js";
import { type OptimizationLevel, safeOptimization } from "./fp8-qdq.js";
import { OrtSession } from "./ort-session.js";

/** The newest ONNX IR version ONNX Runtime 1.30 loads. */
export const ORT_MAX_IR_VERSION = 13;

const UNRUNNABLE = new Set<number>([DataType.FLOAT4E2M1, DataType.FLOAT8E8M0, DataType.FLOAT6E2M3, DataType.FLOAT6E3M2, DataType.INT2, DataType.UINT2]);

export type LoadCheck = { readonly checked: true; readonly optimization: OptimizationLevel } | { readonly checked: false; readonly note: string };

/** Why ONNX Runtime cannot be asked about `model` (a format it cannot run), or undefined. */
export function unverifiableReason(model: Model): string | undefined {
  const ir = Number(model.irVersion ?? 0);
  if (ir > ORT_MAX_IR_VERSION) return `IR version ${ir} is newer than ONNX Runtime 1.30 reads (${ORT_MAX_IR_VERSION})`;
  if (!model.graph) return undefined;
  for (const [g] of walkGraphs(model.graph)) {
    const types = [...g.initializers.map((t) => t.dtype), ...[...g.inputs, ...g.outputs, ...g.valueInfo].map((v) => tensorTypeOf(v.type)?.dtype ?? 0)];
    for (const n of g.nodes) for (const a of n.attributes) if (a.t) types.push(a.t.dtype);
    const bad = types.find((t) => UNRUNNABLE.has(t));
    if (bad !== undefined) return `ONNX Runtime 1.30 has no kernels for ${dtypeName(bad)} tensors`;
  }
  return undefined;
}

/**
 * Opens `model` in ONNX Runtime at `level` (made safe for FP8 QDQ) and closes
 * it again. Throws a FixqError naming `what` and the node ORT names when ORT
 * refuses; returns a note instead when the model's format cannot be checked.
 */
export async function verifyLoad(model: Model, what: string, level: OptimizationLevel = "all"): Promise<LoadCheck> {
  const reason = unverifiableReason(model);
  if (reason) return { checked: false, note: `not opened in ONNX Runtime before writing: ${reason}` };
  const optimization = safeOptimization(model, level);
  let session: OrtSession;
  try {
    session = await OrtSession.create(model, { optimization, threads: 1 });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new FixqError("runtime", `nothing written: ONNX Runtime cannot load the model fixq made (--no-verify-load skips this check, for other runtimes): ${msg}`, what, { cause: e });
  }
  await session.release();
  return { checked: true, optimization };
}

/** One line for a command's report: how ONNX Runtime runs the written model. */
export function loadCheckLine(c: LoadCheck): string {
  if (!c.checked) return c.note;
  return c.optimization === "all"
    ? "ONNX Runtime loads it (graph optimizations all)"
    : `ONNX Runtime loads it with graph optimizations ${c.optimization}: ORT 1.30 rewrites FP8 QDQ wrongly when optimizing (fp8-qdq), so fixq eval runs it that way too`;
}
