/**
 * The real error D of a whole assignment on calibration data (search.ts):
 * the model quantized as the assignment's `layers` rules ask, through the
 * ordinary quantizer (so every stage, activation format and calibrated range
 * counts), run in ONNX Runtime on the first `samples` calibration samples,
 * and compared with the float model's outputs on them (output-change.ts:
 * mean KL of the softmax for classifiers, else relative MSE). The float
 * outputs are computed once and kept. The samples scored may come from a
 * second source (`scored`, e.g. a larger calibration set); the quantizer
 * always calibrates on `source`, as the written model is.
 */
import type { Model } from "../../ir/graph.js";
import { type HostTensor, OrtSession } from "../../runtime/ort-session.js";
import type { DataSource } from "../feeds.js";
import type { LayerRuleInput } from "../layer-rules.js";
import { quantizeModel } from "../quantize.js";
import type { Recipe } from "../recipe.js";
import { OutputChange } from "./output-change.js";

export interface ScoreOptions {
  readonly samples: number;
  readonly batchSize: number;
  readonly threads?: number;
}

/** Runs `model` on the samples batch by batch, handing each batch's first output to `f`. */
async function runOutputs(model: Model, source: DataSource, o: ScoreOptions, f: (out: HostTensor, batch: number) => void): Promise<void> {
  const session = await OrtSession.create(model, { threads: o.threads });
  const samples = Math.min(o.samples, source.count);
  const step = source.fixedBatch ?? Math.max(1, Math.min(o.batchSize, samples));
  try {
    const out = session.outputNames[0]!;
    for (let start = 0, b = 0; start + (source.fixedBatch ?? 1) <= samples; start += step, b++) {
      const data = source.batch(start, Math.min(step, samples - start));
      f((await session.run(data, [out]))[out]!, b);
    }
  } finally {
    await session.release();
  }
}

/** A scorer of assignments: `score(rules)` quantizes with those rules and returns D. */
export async function assignmentScorer(model: Model, source: DataSource, recipeWith: (rules: LayerRuleInput[]) => Recipe, o: ScoreOptions, scored: DataSource = source): Promise<(rules: LayerRuleInput[]) => Promise<number>> {
  const refs: HostTensor[] = [];
  await runOutputs(model, scored, o, (out) => refs.push({ ...out, data: Float32Array.from(out.data as Float32Array) }));
  return async (rules) => {
    const q = await quantizeModel(model, source, recipeWith(rules), { threads: o.threads });
    const change = new OutputChange(1);
    await runOutputs(q.model, scored, o, (out, b) => {
      change.reference(refs[b]!);
      change.add(0, out.data as Float32Array);
    });
    return change.value(0);
  };
}
