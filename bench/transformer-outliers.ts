/**
 * The synthetic outlier ViT of `npm run bench:transformer`. Trained
 * transformers (BERT, OPT, LLaMA) carry a few activation channels whose
 * magnitude is tens of times the others', in the same channels across layers,
 * and those channels are what breaks per-tensor int8 activations. The bundled
 * ViT has none (channel spread 1.3–1.6), so this makes some, keeping the float
 * function: for every smoothable LayerNormalization (each block's norm1, read
 * by Q/K/V, and norm2, read by fc1) and each channel j of OUTLIER_CHANNELS,
 *   γ_j ← c·γ_j,  β_j ← c·β_j,  and each reader's weight row j ← W_j / c,
 * so X·W = (c·X_j)·(W_j / c) term by term and the logits move only by float
 * rounding, while channel j of every norm output is c times larger. It is the
 * inverse of SmoothQuant's own fold (passes/smooth.ts, with s_j = 1/c), and
 * it is synthetic: real outliers also live in the residual stream, which this
 * leaves alone.
 *
 * The rows: the outlier model in float, at W8A8 (the default recipe) without
 * and with `--smooth` (α 0.5 and searched), and at int4 b32 / uint8 and
 * mxfp4 / fp8-e4m3 without rotation, with `--rotate` and `--rotate online`
 * (bench/transformer-rotate.ts), and int4 b32 / uint8 with `--smooth 0.5`
 * alone and followed by `--rotate online`; then each treatment's paired
 * top-1 gain over its untreated row. The statistic printed per norm output is
 * max_j max|X_j| / median_j max|X_j| on the calibration data, before and
 * after the transform.
 */
import { join } from "node:path";
import { MODELS_DIR } from "../src/data/manifest.js";
import type { Model } from "../src/ir/graph.js";
import { inferTypes } from "../src/ir/infer-types.js";
import { ONLINE_HADAMARD_RULE, rotateFoldedAndOnline } from "../src/passes/rotate-online.js";
import { scaleNormChannels, type SmoothTarget, smoothTargets } from "../src/passes/smooth.js";
import { channelAbsMax } from "../src/quant/channel-means.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { smoothModel } from "../src/quant/smooth.js";
import { pairedDrop } from "./paired.js";
import { addRotationRows, rotationGainLines } from "./transformer-rotate.js";

/** Two of the 64 channels (3%), the same in every norm, as in trained models. */
export const OUTLIER_CHANNELS: readonly number[] = [5, 37];
/** c: FIXQ_BENCH_OUTLIER_C, default 32. */
export const OUTLIER_FACTOR = Number(process.env["FIXQ_BENCH_OUTLIER_C"] ?? 32);
export const OUTLIER_PREFIX = "outlier ViT";

/** The ViT with channels OUTLIER_CHANNELS of every smoothable norm output made `c` times larger, the float function kept. */
export function outlierViT(float: Model, c = OUTLIER_FACTOR): Model {
  const targets = smoothTargets(float.graph!);
  const factors = new Map<SmoothTarget, Float64Array>();
  for (const t of targets) {
    const s = new Float64Array(t.channels).fill(1);
    for (const j of OUTLIER_CHANNELS) s[j] = 1 / c;
    factors.set(t, s);
  }
  return { ...float, graph: scaleNormChannels(float.graph!, factors) };
}

const calibSource = (float: Model) => npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 512);

/** Per smoothable norm output: max_j max|X_j| / median_j max|X_j| on the calibration data. */
export async function outlierRatios(model: Model): Promise<{ norm: string; ratio: number }[]> {
  const targets = smoothTargets(model.graph!);
  const types = inferTypes(model.graph!);
  const source = calibSource(model);
  try {
    const probes = targets.map((t) => {
      const rank = types.get(t.value)!.shape!.length;
      return { value: t.value, rank, axis: rank - 1 };
    });
    const absMax = await channelAbsMax(model, source, probes, { batchSize: 64, threads: 1 });
    return targets.map((t) => {
      const m = [...absMax.get(t.value)!].sort((a, b) => a - b);
      const median = (m[(m.length - 1) >> 1]! + m[m.length >> 1]!) / 2;
      return { norm: t.norm.name ?? t.value, ratio: m[m.length - 1]! / median };
    });
  } finally {
    source.close();
  }
}

/** The outlier ViT's rows, through the bench's `add` (which skips the rows FIXQ_BENCH_ROWS leaves out). */
export async function addOutlierRows(float: Model, outlier: Model, add: (name: string, build: () => Promise<Model>) => Promise<void>): Promise<void> {
  const quantized = async (model: Model) => {
    const source = calibSource(float);
    try {
      return (await quantizeModel(model, source, buildRecipe({}), { threads: 1 })).model;
    } finally {
      source.close();
    }
  };
  await add(`${OUTLIER_PREFIX} float`, async () => outlier);
  await add(`${OUTLIER_PREFIX} W8A8`, () => quantized(outlier));
  for (const alpha of [0.5, "search"] as const) {
    await add(`${OUTLIER_PREFIX} W8A8 --smooth${alpha === "search" ? " (α searched)" : ` ${alpha}`}`, async () => {
      const source = calibSource(float);
      try {
        return quantized((await smoothModel(outlier, source, alpha, { batchSize: 64, threads: 1 })).model);
      } finally {
        source.close();
      }
    });
  }
  await addRotationRows(float, add, { model: outlier, prefix: OUTLIER_PREFIX, formats: 2 });
  // smoothing first, then the online rotation (the CLI's order for --smooth with --rotate online)
  const int4 = { weights: "int4", granularity: "per-block:32" } as const;
  const rule = { ...ONLINE_HADAMARD_RULE, match: { ...ONLINE_HADAMARD_RULE.match } };
  for (const online of [false, true]) {
    await add(`${OUTLIER_PREFIX} int4 b32 / u8 --smooth 0.5${online ? " --rotate online" : ""}`, async () => {
      const source = calibSource(float);
      try {
        const smoothed = (await smoothModel(outlier, source, 0.5, { batchSize: 64, threads: 1 })).model;
        const model = online ? rotateFoldedAndOnline(smoothed).model : smoothed;
        return (await quantizeModel(model, source, buildRecipe({ ...int4, layers: online ? [rule] : [] }), { threads: 1 })).model;
      } finally {
        source.close();
      }
    });
  }
}

/** [treated, untreated] row names (without the prefix) whose paired gain is printed. */
const GAINS: readonly [string, string][] = [
  ["W8A8 --smooth 0.5", "W8A8"],
  ["W8A8 --smooth (α searched)", "W8A8"],
  ["int4 b32 / u8 --smooth 0.5", "int4 b32 / u8 no rotation"],
  ["int4 b32 / u8 --smooth 0.5 --rotate online", "int4 b32 / u8 no rotation"],
];

/** The paired top-1 gain of each smoothing row over its untreated row, then the rotation gains on the outlier model. */
export function printOutlierGains(rows: readonly { name: string; preds?: Int32Array }[], labels: ArrayLike<number>): void {
  const preds = (name: string) => rows.find((r) => r.name === `${OUTLIER_PREFIX} ${name}`)?.preds;
  const lines: string[] = [];
  for (const [treated, untreated] of GAINS) {
    const [cand, base] = [preds(treated), preds(untreated)];
    if (!base || !cand) continue;
    const d = pairedDrop(base, cand, labels);
    lines.push(`  ${treated.padEnd(44)} gain ${(-100 * d.drop).toFixed(2).padStart(6)} ± ${(100 * d.se).toFixed(2)} points`);
  }
  lines.push(...rotationGainLines(rows, labels, OUTLIER_PREFIX, 2));
  if (lines.length) console.log(`\nOutlier ViT (c = ${OUTLIER_FACTOR}, channels ${OUTLIER_CHANNELS.join(", ")}): each treatment against the same format untreated (top-1 gain, paired SE):\n${lines.join("\n")}`);
}
