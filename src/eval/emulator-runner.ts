/**
 * The integer emulator behind the same run interface as an ORT session, so
 * `compareModels` can gate on the integer-only model (`--engine emulator`).
 */
import { runProgram } from "../backends/emulator/run.js";
import { integerizeModel } from "../integer/integerize.js";
import { type Program, sampleSize } from "../integer/program.js";
import { moveAxis } from "../integer/sample-layout.js";
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import type { HostTensor } from "../runtime/ort-session.js";

export interface CandidateRunner {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
}

/** The emulator running `model` (a QDQ model), integerized here; errors name `where` (the CAND file). */
export function emulatorRunner(model: Model, where?: string): CandidateRunner {
  let p: Program;
  try {
    p = integerizeModel(model);
  } catch (e) {
    if (e instanceof FixqError && where) throw new FixqError(e.code, e.message, where, { cause: e });
    throw e;
  }
  return {
    outputNames: p.outputs.map((o) => o.name),
    async run(feeds) {
      const inputs = new Map<string, Float32Array>();
      let batch = 0;
      let stacked = false;
      for (const i of p.inputs) {
        const t = feeds[i.name];
        if (!t) throw new FixqError("data", `no data for input '${i.name}'`);
        const data = i.integer ? integerFeed(t.data) : t.data;
        if (!(data instanceof Float32Array)) throw new FixqError("data", `the emulator needs float32 data for input '${i.name}'`);
        const axis = i.batchAxis ?? 0;
        // a program whose sample is a whole fixed-batch run of the model (passes/sample-axis.ts) takes runs stacked along axis 0
        stacked = t.dims.length === i.shape.length && axis === 0;
        const n = stacked ? (t.dims[0] ?? 0) / (i.shape[0] ?? 1) : (t.dims[axis] ?? 1);
        if (inputs.size > 0 && n !== batch) throw new FixqError("data", `inputs disagree on the batch size (${batch} and ${n})`);
        batch = n;
        const want = axis === 0 ? undefined : [...i.shape.slice(0, axis), n, ...i.shape.slice(axis)];
        if (!Number.isInteger(n) || data.length !== batch * sampleSize(i.shape) || want?.some((d, k) => d !== t.dims[k])) {
          throw new FixqError("data", `input '${i.name}' has shape [${t.dims.join(",")}], the model wants [N,${i.shape.join(",")}]`);
        }
        inputs.set(i.name, moveAxis(data, t.dims, axis, 0));
      }
      const r = runProgram(p, inputs, batch);
      const out: Record<string, HostTensor> = {};
      for (const o of p.outputs) {
        const axis = o.batchAxis ?? 0;
        const dims = stacked ? [batch * o.shape[0]!, ...o.shape.slice(1)] : [...o.shape.slice(0, axis), batch, ...o.shape.slice(axis)];
        out[o.name] = { dtype: DataType.FLOAT, dims, data: moveAxis(r.outputs.get(o.name)!, [batch, ...o.shape], 0, axis) };
      }
      return out;
    },
  };
}

/**
 * An integer input's values (int64 ids and masks, a bool padding mask as 0/1)
 * as the emulator takes them, float32 numbers; the program clamps ids within
 * ±2^24, so magnitudes beyond ±2^25 are saturated here first. Other data is
 * returned as it is.
 */
export function integerFeed(data: unknown): unknown {
  const limit = 2n ** 25n;
  if (data instanceof BigInt64Array) return Float32Array.from(data, (v) => Number(v < -limit ? -limit : v > limit ? limit : v));
  if (data instanceof Uint8Array || data instanceof Int32Array || data instanceof Int8Array) return Float32Array.from(data);
  return data;
}
