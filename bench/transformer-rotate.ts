/**
 * The rotation rows of `npm run bench:transformer`: the bundled ViT at
 * low-precision weights, quantized without rotation, with `--rotate` (the
 * folded value → output pairs only) and with `--rotate online` (folded, plus
 * an inserted Hadamard MatMul before Q/K/V, fc1, fc2 and the head, its weights
 * int8), in three formats: int4 per-block 32 weights with 8-bit (uint8)
 * activations, and mxfp4 or nvfp4 weights with fp8-e4m3 activations (fp4
 * stored dequantized, so ONNX Runtime runs them on every CPU). Then each
 * rotated row against the unrotated one of its format: the paired gain in
 * top-1 and its standard error (bench/paired.ts).
 */
import { join } from "node:path";
import { MODELS_DIR } from "../src/data/manifest.js";
import type { Model } from "../src/ir/graph.js";
import { ONLINE_HADAMARD_RULE, rotateFoldedAndOnline } from "../src/passes/rotate-online.js";
import { rotateModel } from "../src/passes/rotate.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { pairedDrop } from "./paired.js";

const FORMATS: readonly [string, RecipeInput][] = [
  ["int4 b32 / u8", { weights: "int4", granularity: "per-block:32" }],
  ["mxfp4 / fp8-e4m3", { weights: "mxfp4", acts: "fp8-e4m3", fp4Storage: "dequantized" }],
  ["nvfp4 / fp8-e4m3", { weights: "nvfp4", acts: "fp8-e4m3", fp4Storage: "dequantized" }],
];
const MODES = ["no rotation", "--rotate", "--rotate online"] as const;
const rowName = (format: string, mode: string, prefix = "fixq") => `${prefix} ${format} ${mode}`;

async function quantizeWith(float: Model, model: Model, recipe: RecipeInput): Promise<Model> {
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 512);
  try {
    return (await quantizeModel(model, source, buildRecipe(recipe), { threads: 1 })).model;
  } finally {
    source.close();
  }
}

/**
 * Adds the rotation rows through the bench's `add` (which skips the rows FIXQ_BENCH_ROWS leaves out):
 * of `opts.model` (default `float`) in the first `opts.formats` formats (default all), named after `opts.prefix` (default "fixq").
 */
export async function addRotationRows(float: Model, add: (name: string, build: () => Promise<Model>) => Promise<void>, opts: { model?: Model; prefix?: string; formats?: number } = {}): Promise<void> {
  const model = opts.model ?? float;
  const folded = rotateModel(model).model;
  const online = rotateFoldedAndOnline(model).model;
  const rule = { ...ONLINE_HADAMARD_RULE, match: { ...ONLINE_HADAMARD_RULE.match } };
  for (const [format, recipe] of FORMATS.slice(0, opts.formats)) {
    await add(rowName(format, MODES[0], opts.prefix), () => quantizeWith(float, model, recipe));
    await add(rowName(format, MODES[1], opts.prefix), () => quantizeWith(float, folded, recipe));
    await add(rowName(format, MODES[2], opts.prefix), () => quantizeWith(float, online, { ...recipe, layers: [rule] }));
  }
}

/** The default recipe (W8A8) after `--rotate online`: the model the integer lowering takes. */
export function rotatedOnlineW8A8(float: Model): Promise<Model> {
  return quantizeWith(float, rotateFoldedAndOnline(float).model, { layers: [{ ...ONLINE_HADAMARD_RULE, match: { ...ONLINE_HADAMARD_RULE.match } }] });
}

/** Each rotated row's top-1 gain over its format's unrotated row, with the paired SE (points), as printed lines. */
export function rotationGainLines(rows: readonly { name: string; preds?: Int32Array }[], labels: ArrayLike<number>, prefix = "fixq", formats?: number): string[] {
  const preds = (name: string) => rows.find((r) => r.name === name)?.preds;
  const lines: string[] = [];
  for (const [format] of FORMATS.slice(0, formats)) {
    const base = preds(rowName(format, MODES[0], prefix));
    for (const mode of MODES.slice(1)) {
      const cand = preds(rowName(format, mode, prefix));
      if (!base || !cand) continue;
      const d = pairedDrop(base, cand, labels);
      lines.push(`  ${`${format} ${mode}`.padEnd(36)} gain ${(-100 * d.drop).toFixed(2).padStart(6)} ± ${(100 * d.se).toFixed(2)} points`);
    }
  }
  return lines;
}

/** The bundled ViT's rotation gains (rotationGainLines), printed. */
export function printRotationGains(rows: readonly { name: string; preds?: Int32Array }[], labels: ArrayLike<number>): void {
  const lines = rotationGainLines(rows, labels);
  if (lines.length) console.log(`\nRotation against no rotation at the same format (top-1 gain, paired SE):\n${lines.join("\n")}`);
}
