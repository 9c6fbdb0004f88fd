/**
 * `blockScale: "mse"` (--block-scale mse): int4/uint4 block scales shrunk to
 * the least squared rounding error (numerics/int-group-clip.ts). The written
 * MatMulNBits scales are never wider than min-max's and some are narrower;
 * the recipe refuses it where there are no integer blocks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-block-scale-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const MLP = join(MODELS_DIR, "mlp.onnx");

/** The |scale| of every MatMulNBits block of a quantized file, in node order. */
async function nbitsScales(name: string, extra: string[]): Promise<number[]> {
  const out = join(tmp, name);
  const r = await fixqMain("quantize", MLP, "-o", out, "--weights", "int4", "--granularity", "per-block:16", "--acts", "float", "--weight-only-op", "matmulnbits", "--calib-samples", "16", ...extra);
  expect(r.status, r.stderr).toBe(0);
  const g = loadModel(out).graph!;
  return g.nodes.filter((n) => n.opType === "MatMulNBits").flatMap((n) => Array.from(tensorToFloat64(g.initializers.find((t) => t.name === n.inputs[2])!), Math.abs));
}

describe("--block-scale mse", () => {
  it("writes block scales no wider than min-max's, some narrower", async () => {
    const minmax = await nbitsScales("minmax.onnx", []);
    const mse = await nbitsScales("mse.onnx", ["--block-scale", "mse"]);
    expect(mse.length).toBe(minmax.length);
    // Shrink factors are ≥ 0.85: each scale within [0.85, 1] of min-max's (float32 rounding aside).
    mse.forEach((s, i) => {
      expect(s).toBeLessThanOrEqual(minmax[i]! * (1 + 1e-6));
      expect(s).toBeGreaterThanOrEqual(minmax[i]! * 0.85 * (1 - 1e-6));
    });
    expect(mse.filter((s, i) => s < minmax[i]! * 0.999).length).toBeGreaterThan(0);
  }, 60_000);

  it("is refused without integer blocks, and for unknown methods", () => {
    expect(() => buildRecipe({ weights: "int8", blockScale: "mse" })).toThrow(/--block-scale mse is for integer blocks/);
    expect(() => buildRecipe({ weights: "int4", granularity: "per-channel", blockScale: "mse" })).toThrow(/--block-scale mse is for integer blocks/);
    expect(() => buildRecipe({ weights: "int4", granularity: "per-block:32", blockScale: "best" })).toThrow(/--block-scale must be minmax or mse, got 'best'/);
    expect(buildRecipe({ weights: "uint4", granularity: "per-block:32", acts: "float", blockScale: "mse" }).blockScale).toBe("mse");
    expect(buildRecipe({ weights: "int4", granularity: "per-block:32", acts: "float", blockScale: "minmax" }).blockScale).toBeUndefined();
  });
});
