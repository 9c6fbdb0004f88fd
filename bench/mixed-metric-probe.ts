/**
 * Which label-free output-change metric, measured on the calibration data,
 * ranks the test top-1 of mixed-precision assignments? (`npx tsx
 * bench/mixed-metric-probe.ts`; knobs PROBE_MODEL (cnn), PROBE_SET
 * (int4,int6,int8).) For size budgets of 60, 75 and 90% of all-int8: the
 * ILP optimum (no search) and the 10 random fills of bench:mixed (same
 * seeds), each quantized as bench:mixed does; per distinct assignment, on
 * the 512 bundled calibration images against the float model's outputs:
 *   kl    mean KL(softmax(float) ‖ softmax(quantized))  (what mixed minimises)
 *   rkl   mean KL(softmax(quantized) ‖ softmax(float))
 *   flip  fraction of images whose arg-max changes
 *   drop  mean drop of the log-probability of the float model's class
 * and, on the 10k test set, top-1, the KL against float and the agreement
 * with float. Prints Spearman's ρ of each metric against test top-1
 * (negative: a lower metric goes with a higher top-1) and against test
 * disagreement with float, pooled over the budgets.
 */
import { join } from "node:path";
import { MODELS_DIR, bundledModels } from "../src/data/manifest.js";
import { spearman } from "../src/eval/rank-correlation.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { readNpy } from "../src/io/npy.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { allocateMixed, ruleFor } from "../src/quant/mixed/allocate.js";
import { parseBudgets } from "../src/quant/mixed/budget.js";
import { parseCandidates } from "../src/quant/mixed/candidates.js";
import { groupsOf } from "../src/quant/mixed/problem.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { Rng } from "../src/util/random.js";
import { full } from "./eval-sets.js";
import { randomFill } from "./mixed-baselines.js";
import { classifierLogits, type Logits, meanKl } from "./output-kl.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

if (!full) {
  console.log("mixed-metric-probe: skipped, the 10k Fashion-MNIST test set (Debian's dataset-fashion-mnist) is not installed");
  process.exit(0);
}
const key = process.env["PROBE_MODEL"] ?? "cnn";
const set = process.env["PROBE_SET"] ?? "int4,int6,int8";
const m = bundledModels().find((b) => b.key === key)!;
const float = loadModel(join(MODELS_DIR, m.file));
const calibFile = join(MODELS_DIR, "data/calib.npy");
const cx = readNpy(calibFile);
const calibImages = { dtype: 1, dims: cx.shape, data: cx.data as Float32Array };
const dummy = new Array<number>(cx.shape[0]!).fill(0);
const test = { dtype: 1, dims: full!.shape, data: full!.images };
const recipe = buildRecipe({});
const candidates = parseCandidates(set, recipe);
const cacheRoot = mkdtempSync(join(tmpdir(), "probe-"));
process.on("exit", () => rmSync(cacheRoot, { recursive: true, force: true }));
const fc = await classifierLogits(float, calibImages, dummy, undefined, 256);
const rows: { kl: number; rkl: number; flip: number; drop: number; top1: number; testKl: number; agree: number }[] = [];
const ft = await classifierLogits(float, test, full!.labels, undefined, 256);
function metrics(q: Logits, p: Logits) {
  const n = p.predictions.length;
  const C = p.classes;
  let flip = 0;
  let drop = 0;
  for (let i = 0; i < n; i++) {
    if (q.predictions[i] !== p.predictions[i]) flip++;
    const a = p.predictions[i]!;
    const lse = (x: Float32Array) => {
      let mx = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < C; c++) mx = Math.max(mx, x[i * C + c]!);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[i * C + c]! - mx);
      return mx + Math.log(s);
    };
    drop += p.logits[i * C + a]! - lse(p.logits) - (q.logits[i * C + a]! - lse(q.logits));
  }
  return { kl: meanKl(p, q), rkl: meanKl(q, p), flip: flip / n, drop: drop / n };
}
const seen = new Set<string>();
for (const pct of [60, 75, 90]) {
  const src = npyFileSource(float.graph!, calibFile);
  const a = await allocateMixed(float, src, recipe, { candidates: set, budgets: parseBudgets([`size=${pct}%`]), cacheRoot });
  src.close();
  if (a.kind !== "solved") throw new Error("unreachable");
  const groups = groupsOf(a.problem);
  const budgets = [{ kind: "size" as const, limit: a.report.budgets["size"]!.limit }];
  const rng = new Rng(pct * 31 + set.length);
  const choices = [groups.map((g) => candidates.findIndex((c) => c.text === a.report.layers.find((l) => l.group === g.name)!.chosen))];
  for (let k = 0; k < 10; k++) choices.push(randomFill(groups, budgets, rng));
  for (const choice of choices) {
    if (seen.has(choice.join(","))) continue;
    seen.add(choice.join(","));
    const byGroup = new Map(groups.map((g, i) => [g.name, candidates[choice[i]!]!]));
    const rules = a.problem.layers.map((l) => ruleFor(l.node, byGroup.get(l.group)!));
    const s2 = npyFileSource(float.graph!, calibFile);
    const q = await quantizeModel(float, s2, buildRecipe({ layers: rules }), {});
    s2.close();
    const qc = await classifierLogits(q.model, calibImages, dummy, undefined, 256);
    const qt = await classifierLogits(q.model, test, full!.labels, undefined, 256);
    let agree = 0;
    for (let i = 0; i < qt.predictions.length; i++) if (qt.predictions[i] === ft.predictions[i]) agree++;
    rows.push({ ...metrics(qc, fc), top1: qt.top1 * 100, testKl: meanKl(ft, qt), agree: agree / qt.predictions.length });
    process.stderr.write(`${pct}% ${choice.join("")} ${JSON.stringify(rows[rows.length - 1])}\n`);
  }
}
const col = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k]);
console.log(`${key} ${set}: ${rows.length} distinct assignments; Spearman with test top-1 (negative = a lower metric goes with higher top-1), and with test disagreement with float`);
for (const k of ["kl", "rkl", "flip", "drop", "testKl"] as const) console.log(`${k}: vs top-1 ${spearman(col(k), col("top1")).toFixed(3)}, vs disagreement ${spearman(col(k), col("agree").map((v) => -v)).toFixed(3)}`);
