/** `fixq inspect` on a quantized model shows the format table, the recipe and the calibration provenance stored in it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { provenanceLines, quantProvenance } from "../../src/analysis/provenance.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readTensorFile } from "../../src/io/npz.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { fixq } from "../helpers/fixq-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-provenance-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("quantization provenance in the file", () => {
  it("round-trips the formats, the recipe rules and the calibration hash; inspect prints them", async () => {
    const m = loadModel(join(MODELS_DIR, "cnn.onnx"));
    const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
    const recipe = buildRecipe({ layers: [{ match: { op: "Gemm" }, weights: "int4" }] });
    const q = await quantizeModel(m, arraySource(feedsFor(m.graph!, calib, "calib.npy", 16)), recipe, { threads: 1 });
    const path = join(tmp, "q.onnx");
    saveModel(q.model, path);
    const p = quantProvenance(loadModel(path))!;
    expect(p.formats).toEqual(q.formats);
    expect(p.calibration).toEqual({ samples: 16, sha256: q.calibrationHash });
    expect((p.recipe!["layers"] as { match: unknown }[])[0]!.match).toEqual({ op: ["Gemm"] });
    expect(provenanceLines(p).join("\n")).toMatch(/weight\s+int4\[-7,7\]\s+per-channel\s+nearest\s+layers\[0\]\s+fc1\.weight/);

    const text = fixq("inspect", path);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`calibration  16 samples, sha256 ${q.calibrationHash}`);
    expect(text.stdout).toMatch(/layers\[0\]\s+match \{"op":\["Gemm"\]\} sets weights/);
    expect(text.stdout).toMatch(/activation\s+uint8\s+per-tensor\s+minmax\s+-\s+input/);
    const json = JSON.parse(fixq("inspect", path, "--json").stdout);
    expect(json.quantization.formats).toEqual(q.formats);
  });

  it("a float model has none", () => {
    expect(quantProvenance(loadModel(join(MODELS_DIR, "cnn.onnx")))).toBeUndefined();
  });
});
