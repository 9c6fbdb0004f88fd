/**
 * The real error D of a whole assignment on calibration data (search.ts):
 * the model quantized as the assignment's `layers` rules ask, through the
 * ordinary quantizer (so every stage, activation format and calibrated range
 * counts), run in ONNX Runtime on the first `samples` calibration samples,
 * and compared with the float model's outputs on them (output-change.ts:
 * mean KL of the softmax for classifiers, else relative MSE). The float
 * outputs are computed once and kept. The samples scored may come from a
 * second source (`scored`, e.g. a larger calibration set); the quantizer
 * always calibrates on `source`, as the written model is. With labels of
 * the scored samples, the objective may be the cross-entropy of the true
 * label instead, or both summed (search-objective.ts).
 */
import { FixqError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import { type HostTensor, OrtSession } from "../../runtime/ort-session.js";
import type { DataSource } from "../feeds.js";
import type { LayerRuleInput } from "../layer-rules.js";
import { quantizeModel } from "../quantize.js";
import type { Recipe } from "../recipe.js";
import { ObjectiveSum, requireLabels, type SearchObjective } from "./search-objective.js";

export interface ScoreOptions {
  readonly samples: number;
  readonly batchSize: number;
  readonly threads?: number;
  /** kl (default), xent or kl+xent (search-objective.ts); the last two need `labels`. */
  readonly objective?: SearchObjective;
  /** The class of each scored sample, in order (at least `samples` of them). */
  readonly labels?: ArrayLike<number>;
}

/** Runs `model` on the samples batch by batch, handing each batch's first output, index and first sample to `f`. */
async function runOutputs(model: Model, source: DataSource, o: ScoreOptions, f: (out: HostTensor, batch: number, first: number) => void): Promise<void> {
  const session = await OrtSession.create(model, { threads: o.threads });
  const samples = Math.min(o.samples, source.count);
  const step = source.fixedBatch ?? Math.max(1, Math.min(o.batchSize, samples));
  try {
    const out = session.outputNames[0]!;
    for (let start = 0, b = 0; start + (source.fixedBatch ?? 1) <= samples; start += step, b++) {
      const data = source.batch(start, Math.min(step, samples - start));
      f((await session.run(data, [out]))[out]!, b, start);
    }
  } finally {
    await session.release();
  }
}

/** A scorer of assignments: `score(rules)` quantizes with those rules and returns the objective (D by default). */
export async function assignmentScorer(model: Model, source: DataSource, recipeWith: (rules: LayerRuleInput[]) => Recipe, o: ScoreOptions, scored: DataSource = source): Promise<(rules: LayerRuleInput[]) => Promise<number>> {
  const objective = o.objective ?? "kl";
  requireLabels(objective, o.labels);
  if (o.labels && o.labels.length < Math.min(o.samples, scored.count)) throw new FixqError("data", `${o.labels.length} labels for ${Math.min(o.samples, scored.count)} scored samples`);
  const refs: HostTensor[] = [];
  await runOutputs(model, scored, o, (out) => refs.push({ ...out, data: Float32Array.from(out.data as Float32Array) }));
  return async (rules) => {
    const q = await quantizeModel(model, source, recipeWith(rules), { threads: o.threads });
    const sum = new ObjectiveSum(objective, o.labels);
    await runOutputs(q.model, scored, o, (out, b, first) => sum.add(refs[b]!, out.data as Float32Array, first));
    return sum.value();
  };
}
