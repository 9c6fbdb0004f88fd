/**
 * The recipe keys weightOnlyOp, nbitsAccuracyLevel, smooth and rotate: the
 * file form of --weight-only-op, --nbits-accuracy-level, --smooth and
 * --rotate, which override them. A recipe holding them writes what the flags write; bad values are
 * usage errors naming the file and the key (exit 2, nothing written).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-deploy-keys-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const MLP = join(MODELS_DIR, "mlp.onnx");

function recipe(name: string, value: object): string {
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

const NBITS = { weights: "int4", granularity: "per-block:16", acts: "float", weightOnlyOp: "matmulnbits", nbitsAccuracyLevel: 4 };

describe("recipe keys weightOnlyOp, nbitsAccuracyLevel, smooth", () => {
  it("weightOnlyOp and nbitsAccuracyLevel in a recipe write MatMulNBits at that level; --weight-only-op qdq overrides them", async () => {
    const file = recipe("nbits", NBITS);
    const out = join(tmp, "mlp.nbits.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--recipe", file, "--calib-samples", "32");
    expect(r.status, r.stderr).toBe(0);
    const nbits = loadModel(out).graph!.nodes.filter((n) => n.opType === "MatMulNBits");
    expect(nbits.length).toBeGreaterThan(0);
    expect(nbits.every((n) => n.attributes.some((a) => a.name === "accuracy_level" && Number(a.i) === 4))).toBe(true);
    const qdq = join(tmp, "mlp.qdq.onnx");
    const file2 = recipe("nbits-qdq", { ...NBITS, nbitsAccuracyLevel: undefined });
    const r2 = await fixqMain("quantize", MLP, "-o", qdq, "--recipe", file2, "--weight-only-op", "qdq", "--calib-samples", "32");
    expect(r2.status, r2.stderr).toBe(0);
    expect(loadModel(qdq).graph!.nodes.some((n) => n.opType === "MatMulNBits")).toBe(false);
  }, 60_000);

  it("smooth in a recipe runs smoothing (the MLP has no LayerNormalization: refused with the reason)", async () => {
    const out = join(tmp, "mlp.smooth.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--recipe", recipe("smooth", { smooth: 0.5 }), "--calib-samples", "16");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--smooth: no LayerNormalization/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it("rotate in a recipe (and --rotate) runs the Hadamard rotation (the MLP has no pair: refused with the reason, nothing written)", async () => {
    const out = join(tmp, "mlp.rot.onnx");
    for (const args of [["--recipe", recipe("rotate", { rotate: true })], ["--rotate"]]) {
      const r = await fixqMain("quantize", MLP, "-o", out, ...args, "--calib-samples", "16");
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/--rotate: no pair to rotate/);
      expect(existsSync(out)).toBe(false);
    }
  }, 60_000);

  it.each([
    [{ rotate: "yes" }, /'rotate' must be true, false, "folded" or "online", got "yes"/],
    [{ rotate: 3 }, /'rotate' must be a boolean or a string, got number/],
    [{ weightOnlyOp: "gguf" }, /'weightOnlyOp' must be qdq or matmulnbits, got 'gguf'/],
    [{ ...NBITS, nbitsAccuracyLevel: 7 }, /'nbitsAccuracyLevel' must be an integer in 0…4, got 7/],
    [{ smooth: 1.5 }, /'smooth' must be true, false or α in \(0, 1\), got 1.5/],
    [{ smooth: "half" }, /'smooth' must be true, false or α in \(0, 1\), got "half"/],
    [{ smooth: [0.5] }, /'smooth' must be a boolean or a number or a string, got array/],
    [{ weightOnlyOp: "matmulnbits" }, /writes weight-only layers: add --acts float \(not uint8\)/],
  ])("%j is a usage error naming the file", async (value, message) => {
    const file = recipe("bad", value);
    const out = join(tmp, "bad.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--recipe", file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    if (!("weightOnlyOp" in value && value.weightOnlyOp === "matmulnbits")) expect(r.stderr).toContain(file);
    expect(existsSync(out)).toBe(false);
  });
});
