/**
 * The float-model passes that run before quantization planning, as one typed
 * array built from the recipe (no registry, no ordering in comments):
 *
 *   fold-constants (always) → fuse-layernorm (always) → fold-batchnorm (always) → fold-affine (always) → relu6-to-relu → equalize (CLE) → absorb-bias
 *
 * Constant folding comes first: a weight an export computes from an
 * initializer (Transpose, Reshape, …) must be an initializer before any pass
 * looks for weights. LayerNorm fusion comes next, before affine folding could take a decomposed
 * LayerNorm's γ Mul or β Add into the next layer and break the chain (it may
 * raise the model's opset to 17, so it runs on the whole model: `runModel`).
 * BN folding comes before the others so that the layers carry their BN's scale and the BN
 * statistics exist; affine folding then takes the Mul/Add by constants next to
 * a layer into it (exact in float; fewer points where a quantized model rounds); ReLU6 must be gone before equalization can cross it; high
 * bias absorption uses the statistics as equalization left them (rescaled).
 * Each pass returns a new graph and its report; the pipeline times each one
 * and, with `verifyEach`, checks the model after each.
 */
import { FixqError } from "../ir/errors.js";
import type { Graph, Model } from "../ir/graph.js";
import { assertValid } from "../ir/verify.js";
import { type AbsorbReport, absorbHighBias } from "./absorb-bias.js";
import { type EqualizeReport, equalize } from "./equalize.js";
import { type AffineReport, foldAffine } from "./fold-affine.js";
import { type FoldReport, foldBatchNorm } from "./fold-batchnorm.js";
import { type ConstantFoldReport, foldConstants } from "./fold-constants.js";
import { type FuseLayerNormReport, fuseLayerNorm, fuseLayerNormModel } from "./fuse-layernorm.js";
import { type Relu6Report, relu6ToRelu } from "./relu6-to-relu.js";

/** Reports of the float passes (the quantization stages add their own: quant/stage.ts). */
export type PassReport = ConstantFoldReport | FuseLayerNormReport | FoldReport | AffineReport | Relu6Report | EqualizeReport | AbsorbReport;

export interface FloatPass {
  readonly name: PassReport["pass"];
  run(g: Graph): { graph: Graph; report: PassReport };
  /** A pass that may change more than the graph (the opset) runs on the model. */
  runModel?(m: Model): { model: Model; report: PassReport };
}

/** Which optional passes run (the recipe's flags). */
export interface FloatPassOptions {
  readonly cle: boolean;
  readonly absorbBias: boolean;
  readonly relu6ToRelu: boolean;
}

export interface PassRun {
  readonly name: PassReport["pass"];
  readonly ms: number;
  readonly changed: boolean;
  readonly report: PassReport;
}

/** Every float pass in its order, with the option that turns it on (undefined: always runs). */
export const FLOAT_PASSES: readonly (FloatPass & { readonly option?: keyof FloatPassOptions })[] = [
  { name: "fold-constants", run: foldConstants },
  { name: "fuse-layernorm", run: (g) => fuseLayerNorm(g, Number.POSITIVE_INFINITY), runModel: fuseLayerNormModel },
  { name: "fold-batchnorm", run: foldBatchNorm },
  { name: "fold-affine", run: foldAffine },
  { name: "relu6-to-relu", option: "relu6ToRelu", run: relu6ToRelu },
  { name: "equalize", option: "cle", run: (g) => equalize(g) },
  { name: "absorb-bias", option: "absorbBias", run: absorbHighBias },
];

export function floatPasses(opts: FloatPassOptions): FloatPass[] {
  return FLOAT_PASSES.filter((p) => p.option === undefined || opts[p.option]);
}

/** Runs the float passes the options select on the model's main graph. */
export function prepareFloatModel(model: Model, opts: FloatPassOptions, run: { verifyEach?: boolean } = {}): { model: Model; passes: PassRun[] } {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  let current = model;
  const passes: PassRun[] = [];
  for (const pass of floatPasses(opts)) {
    const t0 = performance.now();
    const out = runFloatPass(pass, current);
    passes.push({ name: pass.name, ms: performance.now() - t0, changed: out.model !== current, report: out.report });
    current = out.model;
    if (run.verifyEach) assertValid(current);
  }
  return { model: current, passes };
}

/** Runs one float pass on `model`: the model itself back when the pass changed nothing. */
export function runFloatPass(pass: FloatPass, model: Model): { model: Model; report: PassReport } {
  if (pass.runModel) return pass.runModel(model);
  const g = model.graph!;
  const out = pass.run(g);
  return { model: out.graph === g ? model : { ...model, graph: out.graph }, report: out.report };
}

export function findReport<K extends PassReport["pass"]>(runs: readonly PassRun[], name: K): Extract<PassReport, { pass: K }> | undefined {
  return runs.find((r) => r.name === name)?.report as Extract<PassReport, { pass: K }> | undefined;
}
