/**
 * The quantize summary (src/cli/quantize-report.ts) in weight-only mode
 * (`--acts float`): only the layers that read a quantized weight count as
 * quantized; elementwise and pass-through nodes get no Q/DQ there and are
 * listed as float. The expected count is read from the written model: the
 * nodes fed by a DequantizeLinear of a constant.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-quantize-report-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("quantize summary, weight-only", () => {
  it("counts the layers that read a dequantized weight, and lists the rest as float", async () => {
    const out = join(tmp, "w.onnx");
    const r = await fixqMain("quantize", join(MODELS_DIR, "cnn.onnx"), "-o", out, "--acts", "float", "--calib-samples", "16", "--json", join(tmp, "w.json"));
    expect(r.status, r.stderr).toBe(0);
    const g = loadModel(out).graph!;
    const consts = new Set(g.initializers.map((t) => t.name));
    const dq = new Set(g.nodes.filter((n) => n.opType === "DequantizeLinear" && consts.has(n.inputs[0]!)).map((n) => n.outputs[0]));
    const layers = g.nodes.filter((n) => n.opType !== "DequantizeLinear" && n.inputs.some((i) => dq.has(i)));
    expect(g.nodes.some((n) => n.opType === "QuantizeLinear")).toBe(false);
    expect(r.stderr).toMatch(new RegExp(`: ${layers.length} nodes quantized,`));
    expect(r.stderr).not.toMatch(/quantized .*(pass-through|elementwise)/);
  }, 60_000);
});
