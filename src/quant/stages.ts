/**
 * The quantization pipeline as one typed list of stages (stage.ts), built by
 * `quantizationStages` from the recipe:
 *
 *   fold-constants → fuse-layernorm → fold-batchnorm → fold-affine → relu6-to-relu → equalize → absorb-bias   (float passes)
 *   → upgrade-opset → plan → reader-bounds → ranges (calibration or data-free) → specs
 *   → round-weights → bias-correction → int32-biases → write → provenance → verify
 *
 * Every stage is listed whether or not it runs; one the recipe turns off says
 * which key did. `plan` resolves the recipe once (resolve-plan.ts); every
 * later stage reads the plan, never the recipe's formats. `round-weights`
 * chooses the integer code of every weight, and everything after it (bias
 * correction's ε = DQ(q) − W, the writer) uses exactly those codes.
 */
import { ENTROPY_HISTOGRAM_BINS } from "../calib/range.js";
import { FixqError } from "../ir/errors.js";
import { type Graph, opsetVersion, withMetadata } from "../ir/graph.js";
import { formatName } from "../ir/quant.js";
import { assertValid } from "../ir/verify.js";
import { FLOAT_PASSES, runFloatPass } from "../passes/pipeline.js";
import { upgradeOpset } from "../passes/upgrade-opset.js";
import { packageVersion } from "../util/package-root.js";
import { correctBiases } from "./bias-correction.js";
import { dropCopiedConstants } from "./bodies.js";
import { activeBodies, bodyFormats, type BodyState, findBodies, planBodies, refusedLines, specifyBodies, writeBodies } from "./body-plan.js";
import { calibrateWithBodies, dataFreeBodyRanges, rangesFromStats } from "./body-ranges.js";
import { dataFreeRanges } from "./data-free-ranges.js";
import { formatTable } from "./format-table.js";
import { gatherQuantizedEmbeddings } from "./embedding-gather.js";
import { writeQdq } from "./qdq-write.js";
import { probedValueKinds } from "./value-kinds.js";
import { type Recipe, recipeJson } from "./recipe.js";
import { clampRange, readerBoundsOf } from "./reader-bounds.js";
import { requiredOpset } from "./recipe-needs.js";
import { globalChoice, onlyMinMax, type ResolvedPlan, resolvePlan } from "./resolve-plan.js";
import { quantizesLayer } from "./plan.js";
import { roundNearest } from "./round-weights.js";
import { learnRounding } from "./rounding/learned-rounding.js";
import { assignSpecs, withLateCodes } from "./specs.js";
import { noQuantizableOpReason } from "./subgraphs.js";
import type { HostTensor } from "../runtime/ort-session.js";
import { type QuantContext, type QuantState, type Stage, specifiedGraph } from "./stage.js";

const always = "always";

function floatPassStages(recipe: Recipe): Stage[] {
  return FLOAT_PASSES.map((pass): Stage => {
    const on = pass.option === undefined || recipe[pass.option];
    return {
      name: pass.name,
      reason: pass.option ? `${pass.option}: true` : always,
      skipReason: on ? undefined : `${pass.option}: false`,
      run(state) {
        const before = state.model;
        const out = runFloatPass(pass, before);
        const r = out.report;
        if (r.pass === "fold-constants" && r.folded.length === 0) return { skip: "no layout op computes from constants only" };
        if (r.pass === "fuse-layernorm" && r.fused.length + r.kept.length === 0) return { skip: "no decomposed LayerNorm or RMSNorm" };
        state.model = out.model;
        return { report: out.report, changed: out.model !== before };
      },
    };
  });
}

const upgradeStage: Stage = {
  name: "upgrade-opset",
  reason: "the formats need a newer opset",
  run(state, ctx) {
    state.floatModel = state.model;
    const target = Math.max(ctx.recipe.opset ?? 0, requiredOpset(ctx.recipe));
    const have = opsetVersion(state.model) ?? 0;
    if (have >= target) return { skip: `opset ${have} already expresses the formats (needs ${target})` };
    state.model = upgradeOpset(state.model, target);
    return { changed: true };
  },
};

/** One run's worth of calibration data (one sample, or the fixed batch), for probing element types; undefined when there is none. */
function firstSample(source: QuantContext["source"]): Record<string, HostTensor> | undefined {
  try {
    return source.count > 0 ? source.batch(0, Math.min(source.count, source.fixedBatch ?? 1)) : undefined;
  } catch {
    return undefined;
  }
}

/** Node names and op types of the input model, which `exclude` may name even where BN folding removed them. */
function planStage(inputNames: ReadonlySet<string>): Stage {
  return {
    name: "plan",
    reason: always,
    async run(state, ctx) {
      // Element types from inference, completed by ONNX Runtime where inference cannot tell: only float data is quantized.
      const kinds = await probedValueKinds(state.model, ctx.recipe.dataFree ? undefined : firstSample(ctx.source));
      // If/Loop/Scan bodies are planned on their own; the recipe's checks see their nodes too.
      const found = findBodies(state.model.graph!, opsetVersion(state.model) ?? 0);
      const plan = resolvePlan(state.model.graph!, ctx.recipe, new Set([...inputNames, ...found.paths]), kinds, { extra: found.nodes });
      state.bodies = planBodies(found.bodies, ctx.recipe);
      const computes = (p?: ResolvedPlan) => p?.decisions.some(quantizesLayer);
      if (!computes(plan) && !activeBodies(state.bodies).some((b) => computes(b.plan))) {
        throw new FixqError("unsupported", noQuantizableOpReason(state.model.graph!, refusedLines(state.bodies)));
      }
      state.plan = plan;
      return {};
    },
  };
}

const need = <T>(v: T | undefined, stage: string, what: string): T => {
  if (v === undefined) throw new FixqError("runtime", `internal error: stage '${stage}' runs before ${what} exists`);
  return v;
};

function rangesStage(recipe: Recipe): Stage {
  return {
    name: "ranges",
    reason: recipe.dataFree ? "dataFree: true (BN statistics and the input range)" : `calibration: ${recipe.calibration}`,
    async run(state, ctx) {
      const plan = need(state.plan, "ranges", "the plan");
      const g = state.model.graph!;
      const bodies = state.bodies ?? [];
      if (plan.dataFree) {
        const { ranges, report } = dataFreeRanges(g, plan.activations, { inputRange: ctx.recipe.inputRange });
        dataFreeBodyRanges(g, bodies, ctx.recipe.inputRange);
        nothingLeft(plan, bodies);
        state.ranges = new Map([...ranges].map(([t, r]) => [t, clampRange(r, state.readerBounds?.get(t))]));
        state.calibration = { dataFree: true, inputRange: ctx.recipe.inputRange ?? null, bnRangeSigmas: report.sigmas };
        return { report };
      }
      // The statistics every plan needs, the bodies' included.
      const plans = [plan, ...activeBodies(bodies).map((b) => b.plan!)];
      const { histograms, samples, sha256 } = await calibrateWithBodies(state.model, ctx.source, plan.activations, bodies, {
        batchSize: ctx.recipe.batchSize,
        threads: ctx.runtime.threads,
        progress: ctx.progress,
        statistics: plans.every(onlyMinMax) ? "extremes" : "histogram",
        // Entropy needs finer histograms; with mixed methods every histogram takes them.
        histogramBins: plans.some((p) => [...p.acts.values()].some((a) => a.calibration.kind === "entropy")) ? ENTROPY_HISTOGRAM_BINS : undefined,
      });
      nothingLeft(plan, bodies);
      state.ranges = rangesFromStats(plan, (t) => histograms.get(t), state.readerBounds);
      state.calibration = { samples, sha256 };
      return {};
    },
  };
}

/** Refuses the run when every body that held the compute ops was refused and the main graph has none. */
function nothingLeft(plan: ResolvedPlan, bodies: readonly BodyState[]): void {
  if (plan.decisions.some(quantizesLayer) || activeBodies(bodies).length > 0) return;
  throw new FixqError("unsupported", `nothing left to quantize: the main graph has no quantizable op and every body holding one stays float (${refusedLines(bodies).join("; ")})`);
}

/** The values each activation's readers can tell apart (reader-bounds.ts); the ranges stage chooses within them. Exact, so always on. */
const readerBoundsStage: Stage = {
  name: "reader-bounds",
  reason: always,
  run(state) {
    const plan = need(state.plan, "reader-bounds", "the plan");
    const out = readerBoundsOf(state.model.graph!, plan.activations);
    state.readerBounds = out.bounds;
    if (out.bounds.size === 0) return { skip: "every activation's readers tell apart every value" };
    return { report: out.report };
  },
};

const specsStage: Stage = {
  name: "specs",
  reason: always,
  run(state) {
    specifyBodies(state.bodies ?? []);
    const out = assignSpecs(state.model.graph!, need(state.plan, "specs", "the plan"), need(state.ranges, "specs", "ranges"));
    state.specified = out.graph;
    state.outScales = out.outScales;
    return {};
  },
};

function roundingStage(recipe: Recipe): Stage {
  return {
    name: "round-weights",
    reason: `weightRounding: ${recipe.weightRounding}`,
    async run(state, ctx) {
      const g = specifiedGraph(state, "round-weights");
      const nearest = roundNearest(g);
      state.codes = nearest;
      const plan = need(state.plan, "round-weights", "the plan");
      if (!plan.nodes.some((c) => c.weight.rounding !== "nearest")) return {};
      // Learned rounding (AdaRound, GPTQ): layer by layer on the partly rounded model (rounding/learned-rounding.ts).
      const { codes, report } = await learnRounding({ ...state.model, graph: g }, nearest, {
        methodOf: (i) => plan.nodes[i]?.weight.rounding ?? "nearest",
        method: ctx.recipe.weightRounding,
        quantized: (c) => {
          state.codes = c;
          // FP4 weights as float32 on their grid: ONNX Runtime's CPU kernels have no FP4 DequantizeLinear.
          return written(state, g, { ...ctx.recipe, fp4Storage: "dequantized" });
        },
        source: ctx.source,
        batchSize: ctx.recipe.batchSize,
        threads: ctx.runtime.threads,
        progress: ctx.progress,
        log: ctx.log,
        options: ctx.recipe.rounding,
      });
      state.codes = codes;
      return { report, changed: report.layers.some((l) => l.changedFraction > 0) };
    },
  };
}

/**
 * The graph as the writer will get it: int32 bias specs and constant-operand
 * specs for `g`'s current constants, with the chosen weight codes and nearest
 * codes for those constants.
 */
function withLateSpecs(state: QuantState, g: Graph): { graph: Graph; codes: Map<string, Int32Array> } {
  const stage = "int32-biases";
  return withLateCodes(g, need(state.plan, stage, "the plan"), need(state.outScales, stage, "the weight scales"), need(state.codes, stage, "the weight codes"));
}

/** MX scales are stored as FLOAT8E8M0 where the opset allows it (24), else as float32 powers of two. */
const writeOptions = (state: QuantState, recipe: Recipe) => ({ storage: recipe.fp4Storage, e8m0Scales: (opsetVersion(state.model) ?? 0) >= 24 });

/** The QDQ graph `g` would be written as. */
function written(state: QuantState, g: Graph, recipe: Recipe): Graph {
  const { graph, codes } = withLateSpecs(state, g);
  return writeQdq(graph, { ...writeOptions(state, recipe), codes });
}

function biasCorrectionStage(recipe: Recipe): Stage {
  return {
    name: "bias-correction",
    reason: `biasCorrection: ${recipe.biasCorrection}`,
    skipReason: recipe.biasCorrection === "none" ? "biasCorrection: none" : undefined,
    async run(state, ctx) {
      const mode = ctx.recipe.biasCorrection;
      if (mode === "none") return { skip: "biasCorrection: none" };
      const g = specifiedGraph(state, "bias-correction");
      const { graph, report } = await correctBiases({ ...state.model, graph: g }, mode, {
        codes: need(state.codes, "bias-correction", "the weight codes"),
        quantized: (h) => written(state, h, ctx.recipe),
        source: ctx.recipe.dataFree ? undefined : ctx.source,
        batchSize: ctx.recipe.batchSize,
        threads: ctx.runtime.threads,
        progress: ctx.progress,
      });
      state.specified = graph;
      return { report, changed: graph !== g };
    },
  };
}

const biasStage: Stage = {
  name: "int32-biases",
  reason: always,
  run(state) {
    const { graph, codes } = withLateSpecs(state, specifiedGraph(state, "int32-biases"));
    state.specified = graph;
    state.codes = codes;
    return {};
  },
};

const writeStage: Stage = {
  name: "write",
  reason: always,
  run(state, ctx) {
    const g = specifiedGraph(state, "write");
    const bodies = state.bodies ?? [];
    state.formats = [...formatTable(need(state.plan, "write", "the plan"), g), ...bodyFormats(bodies)];
    // Bodies first (innermost first), so the main graph's fresh names avoid theirs.
    const withBodies = writeBodies(g, bodies, writeOptions(state, ctx.recipe));
    const main = writeQdq(withBodies.graph, { ...writeOptions(state, ctx.recipe), codes: need(state.codes, "write", "the weight codes") });
    // Embedding tables gather before they dequantize where ORT's GatherBlockQuantized applies (embedding-gather.ts).
    state.model = gatherQuantizedEmbeddings({ ...state.model, graph: dropCopiedConstants(main, withBodies.copied) });
    return { changed: true };
  },
};

const provenanceStage: Stage = {
  name: "provenance",
  reason: always,
  run(state, ctx) {
    const r = ctx.recipe;
    let out = withMetadata(state.model, "fixq.version", packageVersion());
    const g = globalChoice(r);
    const weightFormat = g.weight.kind === "float" ? g.weight.name : formatName(g.weight.format);
    const actFormat = g.act.scheme ? g.act.name : formatName(g.act.format);
    out = withMetadata(out, "fixq.recipe", JSON.stringify({ ...recipeJson(r), weightFormat, actFormat }));
    out = withMetadata(out, "fixq.calibration", JSON.stringify(need(state.calibration, "provenance", "the calibration provenance")));
    out = withMetadata(out, "fixq.formats", JSON.stringify(state.formats ?? []));
    state.model = out;
    return {};
  },
};

const verifyStage: Stage = {
  name: "verify",
  reason: always,
  run(state) {
    assertValid(state.model);
    return {};
  },
};

/** The whole quantize flow for `recipe`, in order; `inputNames` are the input model's node names and op types. */
export function quantizationStages(recipe: Recipe, inputNames: ReadonlySet<string>): Stage[] {
  return [
    ...floatPassStages(recipe),
    upgradeStage,
    planStage(inputNames),
    readerBoundsStage,
    rangesStage(recipe),
    specsStage,
    roundingStage(recipe),
    biasCorrectionStage(recipe),
    biasStage,
    writeStage,
    provenanceStage,
    verifyStage,
  ];
}
