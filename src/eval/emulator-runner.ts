/**
 * The integer emulator behind the same run interface as an ORT session, so
 * `compareModels` can gate on the integer-only model (`--engine emulator`).
 */
import { runProgram } from "../backends/emulator/run.js";
import { integerizeModel } from "../integer/integerize.js";
import { type Program, sampleSize } from "../integer/program.js";
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
      for (const i of p.inputs) {
        const t = feeds[i.name];
        if (!t) throw new FixqError("data", `no data for input '${i.name}'`);
        if (!(t.data instanceof Float32Array)) throw new FixqError("data", `the emulator needs float32 data for input '${i.name}'`);
        const n = t.dims[0] ?? 1;
        if (inputs.size > 0 && n !== batch) throw new FixqError("data", `inputs disagree on the batch size (${batch} and ${n})`);
        batch = n;
        if (t.data.length !== batch * sampleSize(i.shape)) {
          throw new FixqError("data", `input '${i.name}' has shape [${t.dims.join(",")}], the model wants [N,${i.shape.join(",")}]`);
        }
        inputs.set(i.name, t.data);
      }
      const r = runProgram(p, inputs, batch);
      const out: Record<string, HostTensor> = {};
      for (const o of p.outputs) out[o.name] = { dtype: DataType.FLOAT, dims: [batch, ...o.shape], data: r.outputs.get(o.name)! };
      return out;
    },
  };
}
