/**
 * `fixq quantize --mixed … --mixed-score xent --mixed-labels FILE`: the
 * search scores assignments by the cross-entropy of the true label. The
 * committed eval images and labels stand in for labelled calibration data
 * (the first 64 of them). The known answer: the cross-entropy the summary
 * reports for the kept assignment is recomputed here from the written model,
 * run in ONNX Runtime on those 64 images, against their labels. Usage
 * mistakes are checked in-process (mixedOptions), one spawn for a data one.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy } from "../../src/io/npy.js";
import { mixedOptions } from "../../src/cli/quantize-mixed.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { fixq } from "../helpers/fixq-cli.js";
import { firstOutput } from "../helpers/softmax-kl.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-score-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const EVAL = "models/data/eval.npy";
const LABELS = "models/data/eval_labels.npy";
const base = ["quantize", "models/cnn.onnx", "--calib", EVAL, "--calib-samples", "64", "--sensitivity-samples", "32", "--sensitivity-cache", join(tmp, "cache"), "--mixed", "int4,int8", "--budget", "size=75%"];

describe("fixq quantize --mixed-score", () => {
  it("xent scores the search by the cross-entropy of the labels, and says so in the summary", async () => {
    const out = join(tmp, "x.onnx");
    const r = fixq(...base, "-o", out, "--mixed-search", "4", "--mixed-score", "xent", "--mixed-labels", LABELS, "--json");
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout).mixed.search as { objective: string; samples: number; ilp: { measured: number }; kept: { measured: number } };
    expect(s.objective).toBe("cross-entropy");
    expect(s.samples).toBe(64);
    expect(s.kept.measured).toBeLessThanOrEqual(s.ilp.measured);
    const x = readNpy(EVAL);
    const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const logits = await firstOutput(out, { dims: [64, ...x.shape.slice(1)], data: (x.data as Float32Array).slice(0, 64 * per) });
    const labels = readNpy(LABELS).data as ArrayLike<number | bigint>;
    let ce = 0;
    for (let n = 0; n < 64; n++) {
      const row = Array.from(logits.subarray(n * 10, n * 10 + 10));
      const m = Math.max(...row);
      ce += m + Math.log(row.reduce((t, v) => t + Math.exp(v - m), 0)) - row[Number(labels[n])]!;
    }
    expect(Math.abs(s.kept.measured - ce / 64) / (ce / 64)).toBeLessThan(1e-4);
  }, 120_000);

  it("too few labels is one line, exit 1, nothing written; labels named in a recipe are guarded as an input", () => {
    const out = join(tmp, "bad.onnx");
    const few = fixq("quantize", "models/cnn.onnx", "-o", out, "--sensitivity-samples", "32", "--sensitivity-cache", join(tmp, "cache"), "--mixed", "int4,int8", "--budget", "size=75%", "--mixed-score", "xent", "--mixed-labels", LABELS);
    expect([few.status, few.stderr.trim()]).toEqual([1, "error: --mixed-labels models/data/eval_labels.npy: 2000 labels for 512 calibration samples"]);
    expect(existsSync(out)).toBe(false);
    // The recipe key is an input too: -o may not be it.
    const recipe = join(tmp, "r.json");
    const copy = join(tmp, "labels.npy");
    copyFileSync(LABELS, copy);
    writeFileSync(recipe, JSON.stringify({ mixed: "int4,int8", budget: "size=75%", mixedScore: "xent", mixedLabels: copy }));
    const over = fixq("quantize", "models/cnn.onnx", "-o", copy, "--recipe", recipe);
    expect([over.status, over.stderr.trim()]).toEqual([2, `error: -o ${copy} would overwrite the input: it is the same file as --mixed-labels ${copy}; choose another path`]);
  }, 60_000);

  it("usage mistakes name the flag (checked before any work)", () => {
    const options = (m: Record<string, string>) => () => mixedOptions(buildRecipe({}), { mixed: "int4,int8", budget: "size=75%", ...m }, { output: join(tmp, "o.onnx"), progress: () => {}, recipeWith: (rules) => buildRecipe({ layers: rules }) });
    expect(options({ mixedScore: "kl+xent" })).toThrow("--mixed-score kl+xent needs the class of each calibration sample, which calibration data does not carry: give --mixed-labels FILE (one integer array)");
    expect(options({ mixedLabels: LABELS })).toThrow("--mixed-labels is read only by --mixed-score xent or kl+xent");
    expect(options({ mixedScore: "top1" })).toThrow("--mixed-score must be kl, xent or kl+xent, got 'top1'");
    expect(options({ mixedScore: "xent", mixedLabels: LABELS, mixedSearch: "0" })).toThrow("--mixed-score scores the search, which --mixed-search 0 turns off");
    expect(options({ mixedScore: "xent", mixedLabels: LABELS })()?.labelsFile).toBe(LABELS);
  });
});
